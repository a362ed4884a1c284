import { NodeClusterAdapter } from "@socket.io/cluster-adapter";
import createDebug from "debug";
import { Adapter, type BroadcastOptions, type Room, type Session, type SocketId } from "socket.io-adapter";
import { isRecoveryMessage, type RecoveryReply, type RecoveryRequest, type WireOptions } from "./messages";

const debug = createDebug("runtime:adapter");

/** Longest a worker waits for the primary to restore a session (ms); then the client starts afresh. */
const RESTORE_TIMEOUT_MS = 5000;
const EVENT = 2;

interface Packet {
  type: number;
  data: unknown[];
  nsp: string;
  id?: number;
}

interface SocketLike {
  id: string;
  pid?: string;
  recovered?: boolean;
  packet(packet: Packet): void;
}

function send(message: RecoveryRequest): void {
  process.send?.(message);
}

const toWire = (opts: BroadcastOptions): WireOptions => ({
  rooms: [...opts.rooms],
  except: [...(opts.except ?? [])],
  ...(opts.flags ? { flags: { ...opts.flags } } : {}),
});
const fromWire = (opts: WireOptions): BroadcastOptions => ({
  rooms: new Set(opts.rooms),
  except: new Set(opts.except),
  flags: opts.flags,
});

/** Whether a socket in `rooms` is a recipient of a broadcast with `opts`. */
const reaches = (rooms: Iterable<Room>, opts: WireOptions) => {
  const list = [...rooms];
  return (opts.rooms.length === 0 || list.some((r) => opts.rooms.includes(String(r)))) && list.every((r) => !opts.except.includes(String(r)));
};

/**
 * `@socket.io/cluster-adapter` plus connection state recovery across the cluster (which the
 * cluster adapter does not implement). Recoverable broadcasts (events without acknowledgement,
 * not volatile, not local) go through the primary, which stamps each with an offset, logs it and
 * delivers it to every worker in one order, the sender included; so a client's offset always
 * marks a prefix of what it was sent. Sessions (id, rooms) are kept by the primary while connected,
 * so they outlive a worker that dies. Everything else (acks, `fetchSockets`, `serverSideEmit`, …)
 * is the cluster adapter's.
 */
export class RecoveringClusterAdapter extends NodeClusterAdapter {
  private nextRequest = 1;
  private readonly restoring = new Map<number, (session: Session | null) => void>();
  /** Sessions restored here whose socket is not connected yet → broadcasts they must still get. */
  private readonly catchingUp = new Map<SocketId, { rooms: Room[]; packets: unknown[][] }>();

  constructor(nsp: ConstructorParameters<typeof NodeClusterAdapter>[0]) {
    super(nsp);
    process.on("message", (message: unknown) => {
      if (!isRecoveryMessage(message)) return;
      const reply = message as RecoveryReply;
      if (reply.type === "rt:rec-deliver" && reply.nsp === this.nsp.name) this.deliver(reply.packet, reply.opts);
      else if (reply.type === "rt:rec-restored") this.restoring.get(reply.id)?.(reply.session as Session | null);
    });
    this.nsp.on("connection", (socket: SocketLike) => this.caughtUp(socket));
  }

  private get recovery(): boolean {
    return Boolean((this.nsp.server as unknown as { opts: { connectionStateRecovery?: unknown } }).opts.connectionStateRecovery);
  }

  private recoverable(packet: Packet, opts: BroadcastOptions): boolean {
    return this.recovery && packet.type === EVENT && packet.id === undefined && !opts.flags?.volatile && !opts.flags?.local;
  }

  override broadcast(packet: Packet, opts: BroadcastOptions): Promise<void> {
    if (!this.recoverable(packet, opts)) return super.broadcast(packet, opts);
    send({ type: "rt:rec-broadcast", nsp: this.nsp.name, packet: { type: packet.type, data: packet.data, nsp: packet.nsp }, opts: toWire(opts) });
    return Promise.resolve();
  }

  /** A logged broadcast, in the primary's order: to the local sockets, and to sessions catching up. */
  private deliver(packet: Packet, opts: WireOptions): void {
    for (const pending of this.catchingUp.values()) {
      if (reaches(pending.rooms, opts)) pending.packets.push(packet.data);
    }
    Adapter.prototype.broadcast.call(this, packet, fromWire(opts));
  }

  override addAll(id: SocketId, rooms: Set<Room>): void {
    super.addAll(id, rooms);
    this.track(id);
  }

  override del(id: SocketId, room: Room): void {
    super.del(id, room);
    this.track(id);
  }

  override delAll(id: SocketId): void {
    super.delAll(id);
    if (this.recovery) send({ type: "rt:rec-forget", nsp: this.nsp.name, sid: id });
  }

  /** Tells the primary the session's rooms, so that it outlives this worker. */
  private track(id: SocketId): void {
    if (!this.recovery) return;
    const nsp = this.nsp as unknown as { sockets: Map<SocketId, SocketLike>; _preConnectSockets: Map<SocketId, SocketLike> };
    const socket = nsp.sockets.get(id) ?? nsp._preConnectSockets.get(id);
    const rooms = this.sids.get(id);
    if (!socket?.pid || !rooms) return;
    send({ type: "rt:rec-session", nsp: this.nsp.name, session: { sid: id, pid: socket.pid, rooms: [...rooms].map(String) } });
  }

  override persistSession(session: Session): void {
    let data: unknown = session.data;
    try {
      structuredClone(data);
    } catch {
      data = undefined; // not transferable: the session comes back without it
    }
    send({ type: "rt:rec-persist", nsp: this.nsp.name, session: { ...session, rooms: session.rooms.map(String), data } });
  }

  // the base class declares Promise<Session>, but Socket.IO expects null for "nothing to restore"
  override restoreSession(pid: string, offset: string): Promise<Session> {
    const id = this.nextRequest++;
    return new Promise<Session | null>((resolve) => {
      const timer = setTimeout(() => done(null), RESTORE_TIMEOUT_MS);
      const done = (session: Session | null) => {
        clearTimeout(timer);
        this.restoring.delete(id);
        // from now until the socket connects, matching broadcasts are kept for it
        if (session) {
          this.catchingUp.set(session.sid, { rooms: session.rooms, packets: [] });
          setTimeout(() => this.catchingUp.delete(session.sid), RESTORE_TIMEOUT_MS * 6).unref();
        }
        resolve(session);
      };
      this.restoring.set(id, done);
      send({ type: "rt:rec-restore", id, nsp: this.nsp.name, pid, offset });
    }) as Promise<Session>;
  }

  /** A restored socket is connected: send it what was broadcast while it was being restored. */
  private caughtUp(socket: SocketLike): void {
    const pending = this.catchingUp.get(socket.id);
    if (!pending) return;
    this.catchingUp.delete(socket.id);
    debug("%s caught up with %d packets", socket.id, pending.packets.length);
    for (const data of pending.packets) socket.packet({ type: EVENT, data, nsp: this.nsp.name });
  }
}

/** The adapter for `new Server({ adapter })` (Socket.IO instantiates it once per namespace). */
export function createRecoveringAdapter(): typeof RecoveringClusterAdapter {
  return RecoveringClusterAdapter;
}
