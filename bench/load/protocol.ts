/**
 * The Engine.IO v4 / Socket.IO v5 text wire format, as far as the load generator needs it.
 * Outgoing frames are strings built from pre-encoded parts; incoming frames are read straight
 * from the bytes (no JSON parsing on the hot paths).
 */
const C0 = 0x30; // "0"

/** Engine.IO packet types (first byte). */
export const EIO = { open: 0x30, close: 0x31, ping: 0x32, pong: 0x33, message: 0x34, upgrade: 0x35, noop: 0x36 } as const;
/** Socket.IO packet types (second byte of an Engine.IO message). */
export const SIO = { connect: 0x30, disconnect: 0x31, event: 0x32, ack: 0x33, connectError: 0x34 } as const;

export const CONNECT_FRAME = "40";
export const PONG_FRAME = "3";

/** The echo payload: a small JSON object, like a chat message. */
export const ECHO_PAYLOAD = JSON.stringify({ text: "hello from the load generator", n: 42 });
const ECHO_SUFFIX = `["echo",${ECHO_PAYLOAD}]`;

export const echoFrame = (ackId: number): string => `42${ackId}${ECHO_SUFFIX}`;
export const whoamiFrame = (ackId: number): string => `42${ackId}["whoami"]`;
export const joinFrame = (ackId: number, room: string): string => `42${ackId}["join",${JSON.stringify(room)}]`;

/** Padding so that a broadcast payload is about the size of a chat message. */
const PAD = "x".repeat(48);
/** Target of a `shout`: everyone (`io.emit`) or a room (`io.to(room).emit`). */
export const shoutPrefix = (room?: string): string =>
  `42["shout",{"to":${room === undefined ? '"all"' : JSON.stringify({ room })},"payload":{"s":`;
/** `shout` whose payload carries a sequence number and the send time (µs, monotonic clock). */
export const shoutFrame = (prefix: string, seq: number, sentUs: number): string =>
  `${prefix}${seq},"t":${sentUs},"p":"${PAD}"}}]`;

/** Reads a non-negative integer at `offset`; returns [value, index after the digits]. */
export function readInt(data: Buffer, offset: number): [number, number] {
  let value = 0;
  let i = offset;
  while (i < data.length) {
    const c = data[i]! - C0;
    if (c < 0 || c > 9) break;
    value = value * 10 + c;
    i++;
  }
  return [value, i];
}

/** `42["broadcast",{"s":` — what every broadcast frame starts with (the server re-encodes the payload). */
const BROADCAST_HEAD = Buffer.from('42["broadcast",{"s":');

/** The sequence number and send time of a broadcast frame, or `undefined` if it is not one. */
export function parseBroadcast(data: Buffer): { seq: number; sentUs: number } | undefined {
  if (data.length < BROADCAST_HEAD.length + 8) return undefined;
  for (let i = 2; i < BROADCAST_HEAD.length; i++) if (data[i] !== BROADCAST_HEAD[i]) return undefined;
  const [seq, afterSeq] = readInt(data, BROADCAST_HEAD.length);
  // afterSeq points at `,"t":`
  const [sentUs] = readInt(data, afterSeq + 5);
  return { seq, sentUs };
}

/** Splits an HTTP long-polling payload into its Engine.IO packets (record separator). */
export const splitPayload = (body: string): string[] => (body.length === 0 ? [] : body.split("\x1e"));
