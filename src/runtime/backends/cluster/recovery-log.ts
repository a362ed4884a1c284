import createDebug from "debug";
import { randomBytes } from "node:crypto";
import { reaches, SESSION_START, type RestoredSession, type WireOptions, type WirePacket, type WireSession } from "../rooms";
import { AnswerLater } from "../../ipc/messages";

const debug = createDebug("runtime:recovery:log");

interface LoggedPacket {
  seq: number;
  opts: WireOptions;
  data: unknown[];
  at: number;
}

interface KeptSession extends WireSession {
  nsp: string;
  /** Worker serving it while connected. */
  worker: number;
  /** When it disconnected; `undefined` while connected. */
  disconnectedAt?: number;
  /** The log's last offset when the session began: what a client without an offset missed starts after it. */
  startSeq: number;
}

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
  /** Delivers a logged broadcast to every worker, in the log's order. */
  deliver: (nsp: string, packet: WirePacket, opts: WireOptions) => void;
  /** Asks worker `id` to close the connection of session `sid`: its client came back on another one. */
  evict: (id: number, nsp: string, sid: string) => void;
}

/** What a primary hands to the next one (see {@link RecoveryLog.snapshot}). */
export interface RecoveryLogSnapshot {
  boot: string;
  seq: number;
  packets: Array<[string, LoggedPacket[]]>;
  forgotten: Array<[string, number]>;
  sessions: KeptSession[];
}

/**
 * Connection state recovery for the cluster, in the primary: every recoverable broadcast passes
 * through here, gets an offset, is logged, and is delivered to every worker in one order; every
 * session with a recovery id is known with its rooms, and outlives the worker that served it (a
 * worker's death counts as the disconnection of its sessions). A client that reconnects to any
 * worker within `maxDisconnectionDuration` gets its id, rooms and every packet it missed.
 */
export class RecoveryLog {
  private readonly packets = new Map<string, LoggedPacket[]>();
  /**
   * Per namespace, the offset of the newest packet no longer kept (expired, or beyond
   * `maxPackets`): a client whose offset is older may have missed it, and cannot be restored.
   * (Offsets are numbered across namespaces, so gaps in one namespace's log are not losses.)
   */
  private readonly forgotten = new Map<string, number>();
  private readonly sessions = new Map<string, KeptSession>();
  /** `<nsp> <sid>` → pid, so that a disconnection finds its session without a scan. */
  private readonly pidOf = new Map<string, string>();
  /** Restore requests waiting for a still-connected session's disconnection: pid → wake-ups. */
  private readonly waiting = new Map<string, Set<() => void>>();
  private seq = 0;
  /**
   * Offsets are `<boot>.<seq>`: an offset from another log's life is never mistaken for one of
   * ours. A log handed over by the previous primary keeps its boot (its clients' offsets stay valid).
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
      seq: this.seq,
      packets: [...this.packets],
      forgotten: [...this.forgotten],
      sessions: [...this.sessions.values()],
    };
  }

  /** Takes over the previous primary's log: its sessions are all disconnected (their workers are gone). */
  private adopt(snapshot: RecoveryLogSnapshot): void {
    this.seq = snapshot.seq;
    for (const [nsp, log] of snapshot.packets) this.packets.set(nsp, log);
    for (const [nsp, seq] of snapshot.forgotten) this.forgotten.set(nsp, seq);
    const now = Date.now();
    for (const session of snapshot.sessions) this.keep({ ...session, disconnectedAt: session.disconnectedAt ?? now });
    debug("handed over: %d sessions, %d packets up to offset %s.%s", snapshot.sessions.length, snapshot.packets.reduce((n, [, log]) => n + log.length, 0), this.boot, this.seq.toString(36));
  }

  /** A recoverable broadcast: stamped with the next offset, logged, delivered everywhere. */
  broadcast(nsp: string, packet: WirePacket, opts: WireOptions): void {
    const seq = ++this.seq;
    packet.data.push(`${this.boot}.${seq.toString(36)}`);
    let log = this.packets.get(nsp);
    if (!log) this.packets.set(nsp, (log = []));
    log.push({ seq, opts, data: packet.data, at: Date.now() });
    if (log.length > this.options.maxPackets) this.dropOldest(nsp, log, log.length - this.options.maxPackets);
    this.options.deliver(nsp, packet, opts);
  }

  /** The last sequence number given. */
  position(): number {
    return this.seq;
  }

  /**
   * A session of `worker` connected, or its rooms changed. `seen`: the last sequence number the
   * worker had delivered when the socket joined (later ones may have been logged before this
   * notice arrived, and were delivered to the socket after it joined).
   */
  connected(worker: number, nsp: string, session: Omit<WireSession, "data">, seen: number): void {
    const kept = this.sessions.get(session.pid);
    if (this.movedFrom(kept, worker)) return;
    this.keep({ ...session, data: kept?.data, nsp, worker, startSeq: kept?.startSeq ?? Math.min(seen, this.seq) });
  }

  /** A session of `worker` disconnected for a reason it may recover from. */
  disconnected(worker: number, nsp: string, session: WireSession): void {
    const kept = this.sessions.get(session.pid);
    if (this.movedFrom(kept, worker)) return;
    this.keep({ ...session, nsp, worker, disconnectedAt: Date.now(), startSeq: kept?.startSeq ?? this.seq });
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
   * Answers a restore request. A session still connected on a live worker (as far as the primary
   * knows) is a zombie: its client is here, on a new connection, with the session's recovery id,
   * which only that client ever received; so its old connection is dead without the server having
   * noticed yet (a dropped route, a NAT that forgot the flow). That worker is asked to close it at
   * once, and the restore waits (up to {@link RESTORE_WAIT_MS}) for the disconnection, or for the
   * worker to die; then it takes the session anyway (what that worker reports of it later is
   * ignored).
   */
  restoreWhenDisconnected(nsp: string, pid: string, offset: string, worker: number): RestoredSession | null | AnswerLater<RestoredSession | null> {
    const session = this.sessions.get(pid);
    const connected = session?.nsp === nsp && session.disconnectedAt === undefined && this.options.workerConnected(session.worker);
    // answered at once when it can be: the missed packets are then exactly those logged before the
    // answer, and every later broadcast reaches the worker after it
    if (!connected) return this.restore(nsp, pid, offset, worker);
    // answered (sent) the moment the restore is computed, as above: a promise would send it only
    // after the IPC messages already read, whose broadcasts would reach the worker before it (lost
    // for this client: logged after its missed packets, delivered before its session is restored)
    return new AnswerLater((resolve) => {
      const wakeUps = this.waiting.get(pid) ?? new Set<() => void>();
      this.waiting.set(pid, wakeUps);
      const wakeUp = (force = false) => {
        clearTimeout(timer);
        wakeUps.delete(wakeUp);
        if (wakeUps.size === 0 && this.waiting.get(pid) === wakeUps) this.waiting.delete(pid);
        resolve(this.restore(nsp, pid, offset, worker, force));
      };
      const timer = setTimeout(() => wakeUp(true), RESTORE_WAIT_MS);
      wakeUps.add(wakeUp);
      debug("restore of %s (%s): its old connection on worker %d is closed first", pid, session.sid, session.worker);
      this.options.evict(session.worker, nsp, session.sid);
    });
  }

  /**
   * The session and its missed packets, or `null` (unknown, expired, still connected, or offset too
   * old). The session is then connected on `worker` as far as the log knows: a second restore of it
   * is a zombie's (see {@link restoreWhenDisconnected}), and should its new connection die before
   * the socket connects, that worker gives it back (`recovery:persist`), with what it began with.
   */
  restore(nsp: string, pid: string, offset: string, worker: number, takeOver = false): RestoredSession | null {
    const session = this.sessions.get(pid);
    const refused = (why: string) => {
      debug("not restored %s (%s): %s", pid, session?.sid, why);
      return null;
    };
    if (!session || session.nsp !== nsp) return refused("unknown session");
    if (session.disconnectedAt === undefined) {
      // connected, as far as we know: unless its worker is gone, it cannot be restored
      if (!takeOver && this.options.workerConnected(session.worker)) return refused(`still connected on worker ${session.worker}`);
      session.disconnectedAt = Date.now();
    }
    if (session.disconnectedAt + this.options.maxDisconnectionDuration < Date.now()) {
      this.drop(session);
      return refused("disconnected too long ago");
    }
    const [boot, seqText] = offset.split(".");
    // a client that never received a broadcast has no offset: everything since its session began
    const seq = offset === SESSION_START ? session.startSeq : parseInt(seqText ?? "", 36);
    const log = this.packets.get(nsp) ?? [];
    if ((offset !== SESSION_START && boot !== this.boot) || !Number.isSafeInteger(seq)) return refused(`offset ${offset} is not of this log`);
    // every packet after the offset must still be kept
    if (seq < (this.forgotten.get(nsp) ?? 0) || seq > this.seq) return refused(`offset ${offset} is no longer in the log`);
    const missedPackets: unknown[][] = [];
    for (const packet of log) {
      if (packet.seq > seq && reaches(session.rooms, packet.opts)) missedPackets.push(packet.data);
    }
    session.worker = worker;
    session.disconnectedAt = undefined;
    debug("restored %s (%s) on worker %d with %d missed packets", pid, session.sid, worker, missedPackets.length);
    // a session whose worker died comes back with the data it had at its last disconnection, or none
    return { sid: session.sid, pid: session.pid, rooms: session.rooms, data: session.data ?? {}, missedPackets };
  }

  /** A worker's connected sessions become disconnected sessions, to be restored elsewhere. */
  workerDied(worker: number): void {
    const now = Date.now();
    for (const session of this.sessions.values()) {
      if (session.worker === worker && session.disconnectedAt === undefined) {
        session.disconnectedAt = now;
        this.wake(session.pid);
      }
    }
  }

  private keep(session: KeptSession): void {
    this.sessions.set(session.pid, session);
    this.pidOf.set(`${session.nsp} ${session.sid}`, session.pid);
    if (session.disconnectedAt !== undefined) this.wake(session.pid);
  }

  private wake(pid: string): void {
    for (const wakeUp of [...(this.waiting.get(pid) ?? [])]) wakeUp();
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

  /** Drops the `count` oldest packets of `nsp`'s log, remembering the newest offset dropped. */
  private dropOldest(nsp: string, log: LoggedPacket[], count: number): void {
    if (count <= 0) return;
    const dropped = log.splice(0, count);
    this.forgotten.set(nsp, dropped[dropped.length - 1]!.seq);
  }
}
