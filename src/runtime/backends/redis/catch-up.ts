import createDebug from "debug";
import { reaches } from "../rooms";
import { compareIds } from "./stream-reader";

const debug = createDebug("runtime:redis:catch-up");

/** Longest a restored session may take to connect, or a poller to pass its offset (ms). */
const CATCH_UP_TIMEOUT_MS = 30_000;

interface Pending {
  rooms: string[];
  /** Recoverable broadcasts delivered on this worker while the session had no socket here. */
  buffered: Array<{ id: string; data: unknown[] }>;
  /** Every stream entry up to this id has been given to the session; `undefined` until its missed packets are read. */
  covered?: string;
  timer: NodeJS.Timeout;
}

/**
 * Exactly once, in order, for a session being restored on this worker. Its missed packets are read
 * from the stream on the command connection while this worker keeps delivering broadcasts (its own
 * as soon as Redis numbers them, the others' as the stream poller reads them): a broadcast may be
 * delivered here before the read sees it, or after it. So, from the start of the restore until the
 * socket is connected, matching broadcasts are kept aside and those after the read are added; and,
 * after it connected, the poller's broadcasts the read already gave it are not sent again.
 */
export class StreamCatchUp {
  private readonly pending = new Map<string, Pending>();
  /** Connected restored sockets → the last entry they were given, until the poller passes it. */
  private readonly fresh = new Map<string, string>();
  /** Highest `fresh` value: a broadcast after it concerns none of them. */
  private freshUntil: string | undefined;
  /** Last entry of this namespace the stream poller delivered. */
  private polled: string | undefined;

  /** The last entry of this namespace the stream poller delivered on this worker, if any. */
  get lastPolled(): string | undefined {
    return this.polled;
  }

  /** Nothing to watch: no session being restored here, no restored socket the poller has not caught up with. */
  get idle(): boolean {
    return this.pending.size === 0 && this.freshUntil === undefined;
  }

  /** Starts keeping broadcasts for `sid` (call before reading the stream). */
  begin(sid: string, rooms: string[]): void {
    this.abandon(sid);
    const timer = setTimeout(() => this.abandon(sid), CATCH_UP_TIMEOUT_MS);
    timer.unref();
    this.pending.set(sid, { rooms, buffered: [], timer });
  }

  abandon(sid: string): void {
    const pending = this.pending.get(sid);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pending.delete(sid);
  }

  /**
   * The stream was read up to `last` for `sid`, giving `packets`: answers them plus what was
   * delivered here in the meantime after `last`, in stream order.
   */
  read(sid: string, packets: unknown[][], last: string): unknown[][] {
    const pending = this.pending.get(sid);
    if (!pending) return packets;
    const later = this.after(pending.buffered, last);
    pending.buffered = [];
    pending.covered = later.length > 0 ? later[later.length - 1]!.id : last;
    return [...packets, ...later.map((entry) => entry.data)];
  }

  /** The restored socket is connected: answers what it must still be sent, and remembers what it has. */
  connected(sid: string): unknown[][] {
    const pending = this.pending.get(sid);
    if (!pending?.covered) return [];
    this.abandon(sid);
    const later = this.after(pending.buffered, pending.covered);
    const covered = later.length > 0 ? later[later.length - 1]!.id : pending.covered;
    if (this.polled === undefined || compareIds(this.polled, covered) < 0) {
      this.fresh.set(sid, covered);
      if (this.freshUntil === undefined || compareIds(this.freshUntil, covered) < 0) this.freshUntil = covered;
      setTimeout(() => this.fresh.delete(sid), CATCH_UP_TIMEOUT_MS).unref();
    }
    if (later.length > 0) debug("%s: %d broadcasts delivered while it was connecting", sid, later.length);
    return later.map((entry) => entry.data);
  }

  /**
   * A recoverable broadcast (stream entry `id`) is being delivered on this worker: kept for the
   * sessions being restored that it reaches; answers the connected restored sockets that already
   * have it (to be excluded).
   */
  delivering(id: string, data: unknown[], target: { rooms: Iterable<string>; except: Iterable<string> }): string[] {
    for (const pending of this.pending.values()) {
      if (reaches(pending.rooms, target)) pending.buffered.push({ id, data });
    }
    if (this.freshUntil === undefined) return [];
    if (compareIds(id, this.freshUntil) > 0) {
      this.fresh.clear();
      this.freshUntil = undefined;
      return [];
    }
    const have: string[] = [];
    for (const [sid, covered] of this.fresh) if (compareIds(id, covered) <= 0) have.push(sid);
    return have;
  }

  /** The stream poller delivered entry `id` of this namespace. */
  pollerAt(id: string): void {
    this.polled = id;
    if (this.freshUntil === undefined) return;
    for (const [sid, covered] of this.fresh) if (compareIds(covered, id) <= 0) this.fresh.delete(sid);
    if (this.fresh.size === 0) this.freshUntil = undefined;
  }

  private after(entries: Array<{ id: string; data: unknown[] }>, last: string) {
    return entries.filter((entry) => compareIds(entry.id, last) > 0).sort((a, b) => compareIds(a.id, b.id));
  }
}
