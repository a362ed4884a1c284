import createDebug from "debug";
import type { RedisClientType } from "redis";
import { reaches } from "../rooms";

const debug = createDebug("runtime:redis:stream");

/** A stream entry id (`<ms>-<seq>`), as the Redis Streams adapter gives clients as their offset. */
export const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** Orders two stream entry ids (negative: `a` first). */
export function compareIds(a: string, b: string): number {
  const [am = "0", as = "0"] = a.split("-");
  const [bm = "0", bs = "0"] = b.split("-");
  if (am.length !== bm.length) return am.length - bm.length;
  if (am !== bm) return am < bm ? -1 : 1;
  if (as.length !== bs.length) return as.length - bs.length;
  return as === bs ? 0 : as < bs ? -1 : 1;
}

/** A broadcast as the Redis Streams adapter writes it in the stream (after its own decoding). */
export interface StreamMessage {
  uid?: string;
  nsp: string;
  type: number;
  data?: { packet?: { type?: number; data?: unknown[]; id?: number }; opts?: { rooms?: string[]; except?: string[]; flags?: { volatile?: boolean } }; requestId?: string };
}

const BROADCAST = 3;
const EVENT = 2;

export interface MissedPackets {
  /** Each packet's data, its entry id appended (what a live client receives). */
  packets: unknown[][];
  /** Last stream entry read: every entry up to it is accounted for. */
  last: string;
}

/** Entries read per XRANGE call. */
const PAGE = 1000;
/** Most pages read for one session (the stream is capped at about 10 000 entries by default). */
const MAX_PAGES = 200;

/**
 * The recoverable broadcasts of namespace `nsp` after `offset` in the stream that reach `rooms`, in
 * order; `null` when `offset` is no longer in the stream (trimmed: packets were lost) or when the
 * stream grows faster than it can be read.
 */
export async function readMissed(
  client: RedisClientType,
  stream: string,
  nsp: string,
  offset: string,
  rooms: string[],
  decode: (raw: Record<string, string>) => StreamMessage,
): Promise<MissedPackets | null> {
  const packets: unknown[][] = [];
  let start = offset;
  let last = offset;
  let first = true;
  for (let page = 0; page < MAX_PAGES; page++) {
    const entries = (await client.xRange(stream, start, "+", { COUNT: PAGE })) as Array<{ id: string; message: Record<string, string> }>;
    if (first) {
      // the client's offset must still be in the stream; it is the first entry read
      if (entries[0]?.id !== offset) return null;
      first = false;
    }
    for (const entry of entries) {
      if (entry.id === offset || entry.message.nsp !== nsp || entry.message.type !== String(BROADCAST)) continue;
      let message: StreamMessage;
      try {
        message = decode(entry.message);
      } catch (err) {
        debug("undecodable entry %s: %s", entry.id, (err as Error).message);
        continue;
      }
      const packet = message.data?.packet;
      const opts = message.data?.opts;
      if (!packet || !opts || !Array.isArray(packet.data) || packet.type !== EVENT || packet.id !== undefined) continue;
      if (message.data?.requestId !== undefined || opts.flags?.volatile) continue;
      if (!reaches(rooms, { rooms: opts.rooms ?? [], except: opts.except ?? [] })) continue;
      packets.push([...packet.data, entry.id]);
    }
    last = entries[entries.length - 1]?.id ?? last;
    if (entries.length < PAGE) return { packets, last };
    start = nextId(last);
  }
  debug("stream %s: more than %d entries after %s", stream, PAGE * MAX_PAGES, offset);
  return null;
}

/** The smallest id after `id` (exclusive ranges without Redis 6.2's `(` syntax). */
function nextId(id: string): string {
  const [ms, seq] = id.split("-");
  return `${ms}-${BigInt(seq ?? "0") + 1n}`;
}
