import createDebug from "debug";
import { randomBytes } from "node:crypto";
import cluster, { type Worker } from "node:cluster";
import { isRecoveryMessage, type RecoveryReply, type RecoveryRequest, type WireOptions, type WireSession } from "./messages";

const debug = createDebug("runtime:adapter:log");

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
}

/**
 * How long a restore request for a session still connected (as far as the primary knows) waits
 * for its old worker's report of the disconnection (ms): a client can reconnect to another worker
 * faster than that report reaches the primary. Below the workers' own restore timeout.
 */
const RESTORE_WAIT_MS = 2000;

export interface PacketLogOptions {
  /** How long a disconnected session and the packets it may miss are kept (ms). */
  maxDisconnectionDuration: number;
  /** Most packets kept per namespace; older ones go first. */
  maxPackets: number;
}

/**
 * Connection state recovery for the cluster, in the primary: every recoverable broadcast passes
 * through here, gets an offset, is logged, and is delivered to every worker in one order; every
 * session with a recovery id is known with its rooms, and outlives the worker that served it (a
 * worker's death counts as the disconnection of its sessions). A client that reconnects to any
 * worker within `maxDisconnectionDuration` gets its id, rooms and every packet it missed.
 */
export class PacketLog {
  private readonly packets = new Map<string, LoggedPacket[]>();
  private readonly sessions = new Map<string, KeptSession>();
  /** `<nsp> <sid>` → pid, so that a disconnection finds its session without a scan. */
  private readonly pidOf = new Map<string, string>();
  /** Restore requests waiting for a still-connected session's disconnection: pid → wake-ups. */
  private readonly waiting = new Map<string, Set<() => void>>();
  private seq = 0;
  /** Offsets are `<boot>.<seq>`: an offset from another primary's life is never mistaken for one of ours. */
  private readonly boot = randomBytes(4).toString("hex");

  constructor(private readonly options: PacketLogOptions) {
    setInterval(() => this.expire(), Math.min(10_000, options.maxDisconnectionDuration)).unref();
  }

  listen(): void {
    cluster.on("message", (worker: Worker, message: unknown) => {
      if (isRecoveryMessage(message)) this.onRequest(worker, message as RecoveryRequest);
    });
    cluster.on("exit", (worker) => this.workerDied(worker.id));
  }

  private onRequest(worker: Worker, message: RecoveryRequest): void {
    switch (message.type) {
      case "rt:rec-broadcast":
        return this.broadcast(message);
      case "rt:rec-session": {
        const kept = this.sessions.get(message.session.pid);
        this.keep({ ...message.session, data: kept?.data, nsp: message.nsp, worker: worker.id });
        return;
      }
      case "rt:rec-persist":
        this.keep({ ...message.session, nsp: message.nsp, worker: worker.id, disconnectedAt: Date.now() });
        return;
      case "rt:rec-forget": {
        const pid = this.pidOf.get(`${message.nsp} ${message.sid}`);
        const session = pid === undefined ? undefined : this.sessions.get(pid);
        if (session && session.disconnectedAt === undefined) this.drop(session);
        return;
      }
      case "rt:rec-restore":
        this.restoreWhenDisconnected(message.nsp, message.pid, message.offset, (session) => {
          const reply: RecoveryReply = { type: "rt:rec-restored", id: message.id, session };
          if (worker.isConnected()) worker.send(reply);
        });
        return;
    }
  }

  private keep(session: KeptSession): void {
    this.sessions.set(session.pid, session);
    this.pidOf.set(`${session.nsp} ${session.sid}`, session.pid);
    if (session.disconnectedAt !== undefined) this.wake(session.pid);
  }

  /**
   * Answers a restore request; for a session that is still connected on a live worker, first waits
   * (up to {@link RESTORE_WAIT_MS}) for that worker to report the disconnection or to die.
   */
  private restoreWhenDisconnected(nsp: string, pid: string, offset: string, answer: (session: ReturnType<PacketLog["restore"]>) => void): void {
    const session = this.sessions.get(pid);
    const connected =
      session?.nsp === nsp && session.disconnectedAt === undefined && cluster.workers?.[session.worker]?.isConnected() === true;
    if (!connected) return answer(this.restore(nsp, pid, offset));
    const wakeUps = this.waiting.get(pid) ?? new Set<() => void>();
    this.waiting.set(pid, wakeUps);
    const wakeUp = () => {
      clearTimeout(timer);
      wakeUps.delete(wakeUp);
      if (wakeUps.size === 0 && this.waiting.get(pid) === wakeUps) this.waiting.delete(pid);
      answer(this.restore(nsp, pid, offset));
    };
    const timer = setTimeout(wakeUp, RESTORE_WAIT_MS);
    wakeUps.add(wakeUp);
    debug("restore of %s waits for its disconnection", pid);
  }

  private wake(pid: string): void {
    for (const wakeUp of [...(this.waiting.get(pid) ?? [])]) wakeUp();
  }

  private drop(session: KeptSession): void {
    this.sessions.delete(session.pid);
    const key = `${session.nsp} ${session.sid}`;
    if (this.pidOf.get(key) === session.pid) this.pidOf.delete(key);
  }

  private broadcast(message: Extract<RecoveryRequest, { type: "rt:rec-broadcast" }>): void {
    const seq = ++this.seq;
    const offset = `${this.boot}.${seq.toString(36)}`;
    message.packet.data.push(offset);
    let log = this.packets.get(message.nsp);
    if (!log) this.packets.set(message.nsp, (log = []));
    log.push({ seq, opts: message.opts, data: message.packet.data, at: Date.now() });
    if (log.length > this.options.maxPackets) log.splice(0, log.length - this.options.maxPackets);
    const deliver: RecoveryReply = { type: "rt:rec-deliver", nsp: message.nsp, packet: message.packet, opts: message.opts };
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker?.isConnected()) worker.send(deliver);
    }
  }

  /** The session and its missed packets, or `null` (unknown, expired, still connected, or offset too old). */
  restore(nsp: string, pid: string, offset: string): (WireSession & { missedPackets: unknown[][] }) | null {
    const session = this.sessions.get(pid);
    if (!session || session.nsp !== nsp) return null;
    if (session.disconnectedAt === undefined) {
      // connected, as far as we know: unless its worker is gone, it cannot be restored
      if (cluster.workers?.[session.worker]?.isConnected()) return null;
      session.disconnectedAt = Date.now();
    }
    if (session.disconnectedAt + this.options.maxDisconnectionDuration < Date.now()) {
      this.drop(session);
      return null;
    }
    const [boot, seqText] = offset.split(".");
    const seq = parseInt(seqText ?? "", 36);
    const log = this.packets.get(nsp) ?? [];
    if (boot !== this.boot || !Number.isSafeInteger(seq)) return null;
    // the offset must still be in the log (or be the newest packet); otherwise packets were dropped
    const first = log[0]?.seq ?? this.seq + 1;
    if (seq < first - 1 || seq > this.seq) return null;
    const missedPackets: unknown[][] = [];
    for (const packet of log) {
      if (packet.seq > seq && includes(session.rooms, packet.opts)) missedPackets.push(packet.data);
    }
    this.drop(session);
    debug("restored %s with %d missed packets", pid, missedPackets.length);
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

  private expire(): void {
    const threshold = Date.now() - this.options.maxDisconnectionDuration;
    for (const session of this.sessions.values()) {
      if (session.disconnectedAt !== undefined && session.disconnectedAt < threshold) this.drop(session);
    }
    for (const log of this.packets.values()) {
      const keep = log.findIndex((packet) => packet.at >= threshold);
      log.splice(0, keep === -1 ? log.length : keep);
    }
  }
}

/** Whether a session in `rooms` was a recipient of a broadcast with `opts`. */
function includes(rooms: string[], opts: WireOptions): boolean {
  const included = opts.rooms.length === 0 || rooms.some((room) => opts.rooms.includes(room));
  return included && rooms.every((room) => !opts.except.includes(room));
}
