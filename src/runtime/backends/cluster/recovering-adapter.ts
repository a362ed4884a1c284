import { NodeClusterAdapter } from "@socket.io/cluster-adapter";
import createDebug from "debug";
import { Adapter, type BroadcastOptions, type Room, type Session, type SocketId } from "socket.io-adapter";
import type { WorkerChannel } from "../../ipc/worker";
import { closeSuperseded, namespaceSocket, recoveryEnabled, replayMissed } from "../../sockets/internals";
import { fromWire, reaches, toWire, type WireOptions, type WirePacket, type WireSession } from "../rooms";

const debug = createDebug("runtime:recovery");

/** Longest a worker waits for the primary to restore a session (ms); then the client starts afresh. */
const RESTORE_TIMEOUT_MS = 5000;
const EVENT = 2;

interface Packet {
  type: number;
  data: unknown[];
  nsp: string;
  id?: number;
}

/** A socket as the catch-up sends to it. */
type CatchingUpSocket = Parameters<typeof replayMissed>[0] & { id: string };

/**
 * `@socket.io/cluster-adapter` plus connection state recovery across the cluster (which the
 * cluster adapter does not implement). Recoverable broadcasts (events without acknowledgement,
 * not volatile, not local) go through the primary (`./recovery-log.ts`), which stamps each with an
 * offset, logs it and delivers it to every worker in one order, the sender included; so a
 * client's offset always marks a prefix of what it was sent. Sessions (id, rooms) are kept by the
 * primary while connected, so they outlive a worker that dies. Everything else (acks,
 * `fetchSockets`, `serverSideEmit`, …) is the cluster adapter's.
 *
 * Returns the adapter class for `new Server({ adapter })` (Socket.IO makes one per namespace);
 * every namespace's adapter talks to the primary through `channel`. `position`: the log's last
 * sequence number when the worker started.
 */
export function recoveringClusterAdapter(channel: WorkerChannel, position = 0): typeof NodeClusterAdapter {
  /** The adapters of this process by namespace name, for the primary's deliveries. */
  const byNamespace = new Map<string, RecoveringClusterAdapter>();
  /** The last sequence number delivered here (offsets are numbered across namespaces). */
  let seen = position;
  channel.on("recovery:deliver", ({ nsp, packet, opts }) => {
    seen = Math.max(seen, sequenceOf(packet.data[packet.data.length - 1]));
    byNamespace.get(nsp)?.deliver(packet, opts);
  });
  channel.on("recovery:evict", ({ nsp, sid }) => {
    const socket = byNamespace.get(nsp)?.nsp.sockets.get(sid);
    if (!socket) return;
    debug("%s: its client came back on another connection; the old one is closed", sid);
    closeSuperseded(socket);
  });

  class RecoveringClusterAdapter extends NodeClusterAdapter {
    /** Sessions restored here whose socket is not connected yet → the session and the broadcasts it must still get. */
    private readonly catchingUp = new Map<SocketId, { session: WireSession; packets: unknown[][] }>();

    constructor(nsp: ConstructorParameters<typeof NodeClusterAdapter>[0]) {
      super(nsp);
      byNamespace.set(this.nsp.name, this);
      this.nsp.on("connection", (socket: CatchingUpSocket) => this.caughtUp(socket));
    }

    private get recovery(): boolean {
      return recoveryEnabled(this.nsp.server);
    }

    private recoverable(packet: Packet, opts: BroadcastOptions): boolean {
      return this.recovery && packet.type === EVENT && packet.id === undefined && !opts.flags?.volatile && !opts.flags?.local;
    }

    override broadcast(packet: Packet, opts: BroadcastOptions): Promise<void> {
      if (!this.recoverable(packet, opts)) return super.broadcast(packet, opts);
      channel.notify("recovery:broadcast", { nsp: this.nsp.name, packet: { type: packet.type, data: packet.data, nsp: packet.nsp }, opts: toWire(opts) });
      return Promise.resolve();
    }

    /** A logged broadcast, in the primary's order: to the local sockets, and to sessions catching up. */
    deliver(packet: WirePacket, opts: WireOptions): void {
      for (const pending of this.catchingUp.values()) {
        if (reaches(pending.session.rooms, opts)) pending.packets.push(packet.data);
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
      if (!this.recovery) return;
      const abandoned = this.catchingUp.get(id);
      if (abandoned) {
        // restored, but its connection closed before the socket connected (Socket.IO drops it
        // then): the session stays restorable, from the offset the client still has
        this.catchingUp.delete(id);
        debug("restore of %s abandoned: its session is kept", id);
        channel.notify("recovery:persist", { nsp: this.nsp.name, session: abandoned.session });
        return;
      }
      channel.notify("recovery:forget", { nsp: this.nsp.name, sid: id });
    }

    /** Tells the primary the session's rooms, so that it outlives this worker. */
    private track(id: SocketId): void {
      if (!this.recovery) return;
      const pid = namespaceSocket(this.nsp, id)?.pid;
      const rooms = this.sids.get(id);
      if (!pid || !rooms) return;
      channel.notify("recovery:session", { nsp: this.nsp.name, session: { sid: id, pid, rooms: [...rooms].map(String) }, seen });
    }

    override persistSession(session: Session): void {
      let data: unknown = session.data;
      try {
        structuredClone(data);
      } catch {
        data = undefined; // not transferable: the session comes back without it
      }
      channel.notify("recovery:persist", { nsp: this.nsp.name, session: { ...session, rooms: session.rooms.map(String), data } });
    }

    // the base class declares Promise<Session>, but Socket.IO expects null for "nothing to restore".
    // Socket.IO writes a restored session's missed packets before its CONNECT: a client whose
    // connection dies in between keeps them (socket.io-client buffers events received before
    // CONNECT) without moving its offset, and gets them again from the next restore. So the missed
    // packets are given to Socket.IO as none, and sent here once the socket is connected.
    override restoreSession(pid: string, offset: string): Promise<Session> {
      return channel.request(
        "recovery:restore",
        { nsp: this.nsp.name, pid, offset },
        {
          timeoutMs: RESTORE_TIMEOUT_MS,
          fallback: () => null,
          // from the answer on (before the next delivery is handled) until the socket connects,
          // the broadcasts it must get are kept for it
          onAnswer: (session) => {
            debug("restore of %s from %s: %s", pid, offset, session ? `session ${session.sid}` : "nothing");
            if (!session) return;
            const { sid, pid: restored, rooms, data, missedPackets } = session;
            this.catchingUp.set(sid, { session: { sid, pid: restored, rooms, data }, packets: [...missedPackets] });
            setTimeout(() => this.catchingUp.delete(session.sid), RESTORE_TIMEOUT_MS * 6).unref();
          },
        },
      ).then((session) => session && { ...session, missedPackets: [] }) as Promise<Session>;
    }

    /** A restored socket is connected (its CONNECT is written): send it what it missed, then what was broadcast while it was being restored. */
    private caughtUp(socket: CatchingUpSocket): void {
      const pending = this.catchingUp.get(socket.id);
      if (!pending) return;
      this.catchingUp.delete(socket.id);
      debug("%s caught up with %d packets", socket.id, pending.packets.length);
      replayMissed(socket, this.nsp.name, pending.packets);
    }
  }
  return RecoveringClusterAdapter;
}

/** The sequence number of an offset (`<boot>.<seq in base 36>`), or 0. */
function sequenceOf(offset: unknown): number {
  if (typeof offset !== "string") return 0;
  const seq = parseInt(offset.slice(offset.indexOf(".") + 1), 36);
  return Number.isSafeInteger(seq) ? seq : 0;
}
