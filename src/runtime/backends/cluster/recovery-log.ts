import createDebug from "debug";
import { randomBytes } from "node:crypto";
import { reaches, SESSION_START, type WireOptions, type WirePacket, type WireSession } from "../rooms";
import { AnswerLater } from "../../ipc/messages";
import { encodeOffset, parseOffset, seqAt, type Position } from "./offsets";

const debug = createDebug("runtime:recovery:log");

interface LoggedPacket {
  origin: number;
  seq: number;
  opts: WireOptions;
  data: unknown[];
  at: number;
}

/** One origin: a worker's life (see `./offsets.ts`). */
interface Origin {
  /** The last sequence number logged. */
  seq: number;
  /** Its worker is gone: nothing more of it is logged, `seq` is its end. */
  ended: boolean;
}

interface KeptSession extends WireSession {
  nsp: string;
  /** Worker serving it while connected. */
  worker: number;
  /** When it disconnected; `undefined` while connected. */
  disconnectedAt?: number;
  /** Where its worker stood when the session began: what a client without an offset missed comes after it. */
  startOffset: string;
}

/**
 * A session given back to a worker: `base` is where its client stood (resolved for every origin
 * from `base.low` on), `missed` the logged broadcasts after it that reach its rooms, as
 * `[origin, seq, data]`, in the log's order.
 */
export type ClusterRestoredSession = WireSession & { base: Position; missed: Array<[number, number, unknown[]]> };

/**
 * How long a restore request for a session still connected (as far as the primary knows) waits
 * for its old worker's report of the disconnection (ms): a client can reconnect to another worker
 * faster than that report reaches the primary. Below the workers' own restore timeout.
 */
const RESTORE_WAIT_MS = 2000;

export interface RecoveryLogOptions {
  /** How long a disconnected session and the packets it may miss are kept (ms). */
  maxDisconnectionDuration: number;
  /** Most packets kept per namespace; older ones go first. */
  maxPackets: number;
  /** Whether worker `id` is alive and connected. */
  workerConnected: (id: number) => boolean;
  /** Forwards a logged broadcast of `origin` to every worker but `from` (which delivered it first). */
  forward: (nsp: string, packet: WirePacket, opts: WireOptions, origin: number, seq: number, from: number) => void;
  /** Tells every worker that `origin` ended at `final` (after everything of it was forwarded). */
  ended: (origin: number, final: number) => void;
  /** Asks worker `id` to close the connection of session `sid`: its client came back on another one. */
  evict: (id: number, nsp: string, sid: string) => void;
}

/** What a primary hands to the next one (see {@link RecoveryLog.snapshot}). */
export interface RecoveryLogSnapshot {
  boot: string;
  nextOrigin: number;
  origins: Array<[number, Origin]>;
  packets: Array<[string, LoggedPacket[]]>;
  forgotten: Array<[string, Array<[number, number]>]>;
  sessions: KeptSession[];
}

/**
 * Connection state recovery for the cluster, in the primary. Every recoverable broadcast is
 * delivered first by the worker it comes from, to its own sockets; it then reaches the log (one
 * IPC hop), which keeps it with its origin and sequence number and forwards it to the other
 * workers (`./offsets.ts` says why a client's offset still names exactly what it received).
 * Every session with a recovery id is known with its rooms, and outlives the worker that served
 * it (a worker's death counts as the disconnection of its sessions). A client that reconnects to
 * any worker within `maxDisconnectionDuration` gets its id, rooms and every packet it missed.
 */
export class RecoveryLog {
  private readonly packets = new Map<string, LoggedPacket[]>();
  /**
   * Per namespace and origin, the newest sequence number no longer kept (expired, or beyond
   * `maxPackets`): a client whose offset is older may have missed it, and cannot be restored.
   */
  private readonly forgotten = new Map<string, Map<number, number>>();
  /** Every origin of this log's life. */
  private readonly origins = new Map<number, Origin>();
  /** The origin of each worker alive. */
  private readonly originOf = new Map<number, number>();
  private nextOrigin = 1;
  /** Every origin below it ended. */
  private low = 1;
  private readonly sessions = new Map<string, KeptSession>();
  /** `<nsp> <sid>` → pid, so that a disconnection finds its session without a scan. */
  private readonly pidOf = new Map<string, string>();
  /** Restore requests waiting (for a disconnection, or for broadcasts their client has that are not logged yet): each checks again when woken. */
  private readonly waiting = new Set<() => void>();
  /**
   * Offsets are `<boot>.…`: an offset from another log's life is never mistaken for one of ours.
   * A log handed over by the previous primary keeps its boot (its clients' offsets stay valid).
   */
  private readonly boot: string;

  constructor(
    private readonly options: RecoveryLogOptions,
    handedOver?: RecoveryLogSnapshot,
  ) {
    this.boot = handedOver?.boot ?? randomBytes(4).toString("hex");
    if (handedOver) this.adopt(handedOver);
    setInterval(() => this.expire(), Math.min(10_000, options.maxDisconnectionDuration)).unref();
  }

  /** Everything the log holds, for the next primary (a deploy that replaces the primary). */
  snapshot(): RecoveryLogSnapshot {
    return {
      boot: this.boot,
      nextOrigin: this.nextOrigin,
      origins: [...this.origins],
      packets: [...this.packets],
      forgotten: [...this.forgotten].map(([nsp, seqs]) => [nsp, [...seqs]]),
      sessions: [...this.sessions.values()],
    };
  }

  /** Takes over the previous primary's log: its origins ended and its sessions are disconnected (their workers are gone). */
  private adopt(snapshot: RecoveryLogSnapshot): void {
    this.nextOrigin = snapshot.nextOrigin;
    this.low = snapshot.nextOrigin;
    for (const [origin, state] of snapshot.origins) this.origins.set(origin, { seq: state.seq, ended: true });
    for (const [nsp, log] of snapshot.packets) this.packets.set(nsp, log);
    for (const [nsp, seqs] of snapshot.forgotten) this.forgotten.set(nsp, new Map(seqs));
    const now = Date.now();
    for (const session of snapshot.sessions) this.keep({ ...session, disconnectedAt: session.disconnectedAt ?? now });
    debug("handed over: %d sessions, %d packets, origins below %d", snapshot.sessions.length, snapshot.packets.reduce((n, [, log]) => n + log.length, 0), this.low);
  }

  /** Where the log stands: for every origin from the lowest that has not ended, the last sequence number logged. */
  private position(): Position {
    const seqs: number[] = [];
    for (let origin = this.low; origin < this.nextOrigin; origin++) seqs.push(this.origins.get(origin)!.seq);
    return { boot: this.boot, low: this.low, seqs };
  }

  /**
   * A worker starts: its origin, and where it starts (every broadcast logged later is forwarded
   * to it after this answer).
   */
  join(worker: number): { origin: number; offset: string } {
    const origin = this.nextOrigin++;
    this.origins.set(origin, { seq: 0, ended: false });
    this.originOf.set(worker, origin);
    debug("worker %d starts origin %d", worker, origin);
    return { origin, offset: encodeOffset(this.position()) };
  }

  /** A recoverable broadcast, already delivered by `worker` to its sockets: logged, forwarded to the others. */
  broadcast(worker: number, nsp: string, packet: WirePacket, opts: WireOptions, seq: number): void {
    const origin = this.originOf.get(worker);
    const state = origin === undefined ? undefined : this.origins.get(origin);
    if (origin === undefined || !state || state.ended) return void debug("broadcast of worker %d without an origin: not logged", worker);
    if (seq !== state.seq + 1) debug("origin %d: broadcast %d after %d", origin, seq, state.seq);
    state.seq = seq;
    let log = this.packets.get(nsp);
    if (!log) this.packets.set(nsp, (log = []));
    log.push({ origin, seq, opts, data: packet.data, at: Date.now() });
    if (log.length > this.options.maxPackets) this.dropOldest(nsp, log, log.length - this.options.maxPackets);
    this.options.forward(nsp, packet, opts, origin, seq, worker);
    this.wakeAll();
  }

  /**
   * `worker`'s channel closed (everything it sent was read): its origin ends; what it delivered
   * and did not send (if it died writing) reached its own clients only.
   */
  workerDisconnected(worker: number): void {
    const origin = this.originOf.get(worker);
    if (origin === undefined) return;
    this.originOf.delete(worker);
    const state = this.origins.get(origin)!;
    state.ended = true;
    while (this.low < this.nextOrigin && this.origins.get(this.low)!.ended) this.low++;
    debug("origin %d (worker %d) ended at %d", origin, worker, state.seq);
    this.options.ended(origin, state.seq);
    this.wakeAll();
  }

  /**
   * A session of `worker` connected, or its rooms changed. `seen`: the worker's offset when the
   * socket joined (later broadcasts were delivered to the socket).
   */
  connected(worker: number, nsp: string, session: Omit<WireSession, "data">, seen: string): void {
    const kept = this.sessions.get(session.pid);
    if (this.movedFrom(kept, worker)) return;
    this.keep({ ...session, data: kept?.data, nsp, worker, startOffset: kept?.startOffset ?? seen });
  }

  /** A session of `worker` disconnected for a reason it may recover from. */
  disconnected(worker: number, nsp: string, session: WireSession): void {
    const kept = this.sessions.get(session.pid);
    if (this.movedFrom(kept, worker)) return;
    this.keep({ ...session, nsp, worker, disconnectedAt: Date.now(), startOffset: kept?.startOffset ?? encodeOffset(this.position()) });
  }

  /** A session of `worker` left for good. */
  forget(worker: number, nsp: string, sid: string): void {
    const pid = this.pidOf.get(`${nsp} ${sid}`);
    const session = pid === undefined ? undefined : this.sessions.get(pid);
    if (session && session.disconnectedAt === undefined && session.worker === worker) this.drop(session);
  }

  /**
   * Whether a report of `worker` is about a session that has moved on: connected on another worker
   * since (a zombie's old connection, closed after its client was restored elsewhere).
   */
  private movedFrom(kept: KeptSession | undefined, worker: number): boolean {
    const moved = kept !== undefined && kept.disconnectedAt === undefined && kept.worker !== worker;
    if (moved) debug("report of worker %d about %s ignored: the session is on worker %d now", worker, kept.sid, kept.worker);
    return moved;
  }

  /**
   * Answers a restore request, at once when it can be, else once nothing stands in its way (up to
   * {@link RESTORE_WAIT_MS}):
   * - a session still connected on a live worker (as far as the primary knows) is a zombie: its
   *   client is here, on a new connection, with the session's recovery id, which only that client
   *   ever received; so its old connection is dead without the server having noticed yet (a
   *   dropped route, a NAT that forgot the flow). That worker is asked to close it at once, and
   *   the restore waits for the disconnection, or for the worker to die; then it takes the
   *   session anyway (what that worker reports of it later is ignored);
   * - a client whose offset names broadcasts not logged yet (delivered by their worker, still on
   *   their way here) waits for them, so that the restoring worker, which gets them after the
   *   answer, is past the client's offset; their worker ending counts too. Not there in time:
   *   not restored.
   * The answer is sent the moment it is computed (`AnswerLater`, not a promise: see its comment);
   * the restoring worker merges what it delivered meanwhile (`recovering-adapter.ts`).
   */
  restoreWhenReady(nsp: string, pid: string, offset: string, worker: number): ClusterRestoredSession | null | AnswerLater<ClusterRestoredSession | null> {
    const session = this.sessions.get(pid);
    const first = this.blocked(nsp, pid, offset);
    if (!first) return this.restore(nsp, pid, offset, worker);
    return new AnswerLater((resolve) => {
      const check = (force: boolean) => {
        const blocker = this.blocked(nsp, pid, offset);
        if (blocker && !force) return;
        clearTimeout(timer);
        this.waiting.delete(wakeUp);
        resolve(blocker === "unlogged" ? this.refused(pid, `broadcasts its offset names were not logged in ${RESTORE_WAIT_MS} ms`) : this.restore(nsp, pid, offset, worker, force));
      };
      const wakeUp = () => check(false);
      const timer = setTimeout(() => check(true), RESTORE_WAIT_MS);
      this.waiting.add(wakeUp);
      if (first === "connected" && session) {
        debug("restore of %s (%s): its old connection on worker %d is closed first", pid, session.sid, session.worker);
        this.options.evict(session.worker, nsp, session.sid);
      }
    });
  }

  /** What a restore must wait for: its session's disconnection, broadcasts its offset names that are not logged yet, or nothing. */
  private blocked(nsp: string, pid: string, offset: string): "connected" | "unlogged" | undefined {
    const session = this.sessions.get(pid);
    if (session?.nsp === nsp && session.disconnectedAt === undefined && this.options.workerConnected(session.worker)) return "connected";
    const position = offset === SESSION_START ? undefined : parseOffset(offset);
    if (!position || position.boot !== this.boot) return undefined;
    for (let i = 0; i < position.seqs.length; i++) {
      const state = this.origins.get(position.low + i);
      if (state && !state.ended && position.seqs[i]! > state.seq) return "unlogged";
    }
    return undefined;
  }

  private refused(pid: string, why: string): null {
    debug("not restored %s (%s): %s", pid, this.sessions.get(pid)?.sid, why);
    return null;
  }

  /**
   * The session and the packets it missed, or `null` (unknown, expired, still connected, or offset
   * too old or not ours). The session is then connected on `worker` as far as the log knows: a
   * second restore of it is a zombie's (see {@link restoreWhenReady}), and should its new
   * connection die before the socket connects, that worker gives it back (`recovery:persist`),
   * with what it began with.
   */
  restore(nsp: string, pid: string, offset: string, worker: number, takeOver = false): ClusterRestoredSession | null {
    const session = this.sessions.get(pid);
    if (!session || session.nsp !== nsp) return this.refused(pid, "unknown session");
    if (session.disconnectedAt === undefined) {
      // connected, as far as we know: unless its worker is gone, it cannot be restored
      if (!takeOver && this.options.workerConnected(session.worker)) return this.refused(pid, `still connected on worker ${session.worker}`);
      session.disconnectedAt = Date.now();
    }
    if (session.disconnectedAt + this.options.maxDisconnectionDuration < Date.now()) {
      this.drop(session);
      return this.refused(pid, "disconnected too long ago");
    }
    // a client that never received a broadcast has no offset: everything since its session began
    const position = parseOffset(offset === SESSION_START ? session.startOffset : offset);
    if (!position || position.boot !== this.boot || position.low + position.seqs.length > this.nextOrigin) return this.refused(pid, `offset ${offset} is not of this log`);
    const final = (origin: number) => {
      const state = this.origins.get(origin);
      return state?.ended ? state.seq : undefined;
    };
    // where the client stands, for every origin from the lower of its `low` and ours
    const base: Position = { boot: this.boot, low: Math.min(position.low, this.low), seqs: [] };
    for (let origin = base.low; origin < this.nextOrigin; origin++) {
      const seq = seqAt(position, origin, final);
      if (seq === undefined) return this.refused(pid, `offset ${offset} names origin ${origin} as ended`);
      base.seqs.push(seq);
    }
    const had = (origin: number) => base.seqs[origin - base.low] ?? 0;
    // every packet after the offset must still be kept
    for (const [origin, seq] of this.forgotten.get(nsp) ?? []) {
      if (origin >= base.low && had(origin) < seq) return this.refused(pid, `offset ${offset} is no longer in the log (origin ${origin})`);
    }
    const missed: Array<[number, number, unknown[]]> = [];
    for (const packet of this.packets.get(nsp) ?? []) {
      if (packet.origin >= base.low && packet.seq > had(packet.origin) && reaches(session.rooms, packet.opts)) missed.push([packet.origin, packet.seq, packet.data]);
    }
    session.worker = worker;
    session.disconnectedAt = undefined;
    debug("restored %s (%s) on worker %d with %d missed packets", pid, session.sid, worker, missed.length);
    // a session whose worker died comes back with the data it had at its last disconnection, or none
    return { sid: session.sid, pid: session.pid, rooms: session.rooms, data: session.data ?? {}, base, missed };
  }

  /** A worker's connected sessions become disconnected sessions, to be restored elsewhere. */
  workerDied(worker: number): void {
    this.workerDisconnected(worker);
    const now = Date.now();
    for (const session of this.sessions.values()) {
      if (session.worker === worker && session.disconnectedAt === undefined) session.disconnectedAt = now;
    }
    this.wakeAll();
  }

  private keep(session: KeptSession): void {
    this.sessions.set(session.pid, session);
    this.pidOf.set(`${session.nsp} ${session.sid}`, session.pid);
    if (session.disconnectedAt !== undefined) this.wakeAll();
  }

  private wakeAll(): void {
    if (this.waiting.size === 0) return;
    for (const wakeUp of [...this.waiting]) wakeUp();
  }

  private drop(session: KeptSession): void {
    this.sessions.delete(session.pid);
    const key = `${session.nsp} ${session.sid}`;
    if (this.pidOf.get(key) === session.pid) this.pidOf.delete(key);
  }

  private expire(): void {
    const threshold = Date.now() - this.options.maxDisconnectionDuration;
    for (const session of this.sessions.values()) {
      if (session.disconnectedAt !== undefined && session.disconnectedAt < threshold) this.drop(session);
    }
    for (const [nsp, log] of this.packets) {
      const keep = log.findIndex((packet) => packet.at >= threshold);
      this.dropOldest(nsp, log, keep === -1 ? log.length : keep);
    }
  }

  /** Drops the `count` oldest packets of `nsp`'s log, remembering per origin the newest dropped. */
  private dropOldest(nsp: string, log: LoggedPacket[], count: number): void {
    if (count <= 0) return;
    const dropped = log.splice(0, count);
    let forgotten = this.forgotten.get(nsp);
    if (!forgotten) this.forgotten.set(nsp, (forgotten = new Map()));
    for (const packet of dropped) forgotten.set(packet.origin, packet.seq);
  }
}
