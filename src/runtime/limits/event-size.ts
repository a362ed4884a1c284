import createDebug from "debug";
import { completesPacket, type DecoderLike, type ParserLike } from "../sockets/internals";

const debug = createDebug("runtime:limits:size");

/** Where a decoded packet carries its size on the wire, in bytes (all its messages together). */
export const EVENT_SIZE = Symbol("runtime:limits:event-size");

/** Bytes of one Engine.IO message: a string's UTF-8 length (only computed when it matters), or a buffer's. */
export function messageBytes(chunk: unknown, limit: number): number {
  if (typeof chunk === "string") {
    // each UTF-16 unit is 1 to 3 UTF-8 bytes: measure only when the bound could be crossed
    if (chunk.length > limit || chunk.length * 3 <= limit) return chunk.length;
    return Buffer.byteLength(chunk);
  }
  if (chunk instanceof ArrayBuffer || ArrayBuffer.isView(chunk)) return chunk.byteLength;
  return 0;
}

/** The decoder's `decoded` listener (one for all decoders: the emitter calls it with the decoder as `this`). */
function tagSize(this: { bytes: number }, packet: unknown): void {
  if (packet && typeof packet === "object") (packet as Record<symbol, number>)[EVENT_SIZE] = this.bytes;
  this.bytes = 0;
}

/**
 * A Socket.IO parser whose decoder tags each decoded packet with its size on the wire: the
 * messages it was built from (a header and its binary attachments with the default parser, one
 * message with msgpack), so that `MAX_EVENT_SIZE` counts JSON and attachments together.
 * A packet still being assembled (binary attachments still to come) whose messages already pass
 * `hardLimit` is an error (the connection is closed, as for any undecodable input), so that its
 * attachments are not kept; a packet that is complete is tagged and refused politely.
 */
export function sizedParser(parser: ParserLike, hardLimit: number): ParserLike {
  const Base = parser.Decoder as unknown as new (...args: unknown[]) => DecoderLike;
  class SizedDecoder extends Base {
    bytes = 0;
    constructor(...args: unknown[]) {
      super(...args);
      // registered before Socket.IO's own listener: the tag is there when Socket.IO sees the packet
      this.on("decoded", tagSize);
    }
    override add(chunk: unknown): void {
      this.bytes += messageBytes(chunk, hardLimit);
      if (this.bytes > hardLimit && typeof chunk !== "string" && !completesPacket(this)) {
        debug("packet over %d bytes while being assembled", hardLimit);
        this.bytes = 0;
        throw new Error("event too large");
      }
      try {
        super.add(chunk);
      } catch (err) {
        this.bytes = 0;
        throw err;
      }
    }
  }
  return { ...parser, Decoder: SizedDecoder as unknown as ParserLike["Decoder"] };
}
