import { NodeClusterAdapter } from "@socket.io/cluster-adapter";
import createDebug from "debug";
import { Adapter, type BroadcastOptions, type Room, type Session, type SocketId } from "socket.io-adapter";
import type { WorkerChannel } from "../../ipc/worker";
import { closeSuperseded, isConnecting, namespaceSocket, recoveryEnabled, replayMissed } from "../../sockets/internals";
import { fromWire, reaches, toWire, type WireOptions, type WireSession } from "../rooms";
import { DeliveryPosition, parseOffset, type Position } from "./offsets";

const debug = createDebug("runtime:recovery");

/**
 * Longest a worker waits for the primary to restore a session (ms); then the client starts afresh.
 * A bound on a stall, not a speed: on the Node engine, Node's IPC channel holds every message to a
 * worker behind each connection handle awaiting its acknowledgement, so while ~1,000 clients of a
 * killed worker reconnect, restores took 3.2 s (median) and up to 11.7 s on a 2-core machine (5 s
 * cut off 1,131 of 6,607: README, "Tests"). The primary gone, the fallback comes at once.
 */
const RESTORE_TIMEOUT_MS = 15_000;
const EVENT = 2;

interface Packet {
  type: number;
  data: unknown[];
  nsp: string;
  id?: number;
}

/** A socket as the catch-up sends to it. */
type CatchingUpSocket = Parameters<typeof replayMissed>[0] & { id: string };

/** A recoverable broadcast delivered here: its origin, its number, its data (without offset), its target. */
interface Delivery {
  origin: number;
  seq: number;
  data: unknown[];
  opts: WireOptions;
}

/**
 * A restored session on its way to its socket: the broadcasts it must get (data with offsets),
 * and where its client stands (a {@link DeliveryPosition} of its own), so that nothing is given twice.
 */
class CatchUp {
  readonly packets: unknown[][] = [];
  private readonly had: DeliveryPosition;

  constructor(
    readonly session: WireSession,
    base: Position,
  ) {
    this.had = new DeliveryPosition(base);
  }

  /**
   * Adds broadcast `seq` of `origin` unless the client has it. Its offset: where the client stands
   * once it has it (per origin, the last it got; the origins below `base.low` it had to their end).
   */
  add(origin: number, seq: number, data: unknown[]): void {
    if (!this.had.accepts(origin, seq)) return;
    this.had.delivered(origin, seq);
    this.packets.push([...data, this.had.offset()]);
  }
}

/**
 * `@socket.io/cluster-adapter` plus connection state recovery across the cluster (which the
 * cluster adapter does not implement). A recoverable broadcast (an event without acknowledgement,
 * not volatile, not local) is numbered in this worker's origin, delivered to the sockets here at
 * once, and queued for the primary (`./recovery-log.ts`), which logs it and forwards it to the other
 * workers; each delivery carries the offset of where this worker stands (`./offsets.ts`), so a
 * client's offset names exactly what it was sent. Sessions (id, rooms) are kept by the primary
 * while connected, so they outlive a worker that dies. Everything else (acks, `fetchSockets`,
 * `serverSideEmit`, …) is the cluster adapter's.
 *
 * Returns the adapter class for `new Server({ adapter })` (Socket.IO makes one per namespace);
 * every namespace's adapter talks to the primary through `channel`. `joined`: this worker's origin
 * and where the log stood when it started (none: recovery is off).
 */
export function recoveringClusterAdapter(channel: WorkerChannel, joined?: { origin: number; offset: string }): typeof NodeClusterAdapter {
  /** The adapters of this process by namespace name, for the primary's deliveries. */
  const byNamespace = new Map<string, RecoveringClusterAdapter>();
  const start = joined && parseOffset(joined.offset);
  /** Where this worker stands in every origin's broadcasts (offsets are numbered across namespaces). */
  const position = joined && start ? new DeliveryPosition(start, joined.origin) : undefined;
  /**
   * Deliveries waiting for the one in progress: a delivery can cause a broadcast (a listener of
   * outgoing packets, such as the admin UI's, emits), which is delivered after it, not inside it,
   * so that every socket gets this worker's deliveries in one order.
   */
  const queue: Array<[string, Delivery]> = [];
  let delivering = false;
  const deliverInOrder = (nsp: string, delivery: Delivery) => {
    queue.push([nsp, delivery]);
    if (delivering) return;
    delivering = true;
    try {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const adapter = byNamespace.get(next[0]);
        if (adapter) adapter.deliver(next[1]);
        else position!.delivered(next[1].origin, next[1].seq); // a namespace this worker does not have: nothing to send
      }
    } finally {
      delivering = false;
    }
  };
  channel.on("recovery:deliver", ({ nsp, packet, opts, origin, seq }) => {
    if (!position?.accepts(origin, seq)) return void debug("broadcast %d of origin %d not delivered: not the next one", seq, origin);
    deliverInOrder(nsp, { origin, seq, data: packet.data, opts });
  });
  channel.on("recovery:ended", ({ origin, final }) => position?.originEnded(origin, final));
  channel.on("recovery:evict", ({ nsp, sid }) => {
    const socket = byNamespace.get(nsp)?.nsp.sockets.get(sid);
    if (!socket) return;
    debug("%s: its client came back on another connection; the old one is closed", sid);
    closeSuperseded(socket);
  });

  class RecoveringClusterAdapter extends NodeClusterAdapter {
    /** Sessions restored here whose socket is not connected yet → what it must still get. */
    private readonly catchingUp = new Map<SocketId, CatchUp>();
    /** Restores asked and not answered yet: what was delivered here meanwhile, to merge with the answer. */
    private readonly restoring = new Set<Delivery[]>();
    /** Broadcasts to one socket still being set up, by its id: sent once it connects. */
    private readonly connecting = new Map<SocketId, Delivery[]>();

    constructor(nsp: ConstructorParameters<typeof NodeClusterAdapter>[0]) {
      super(nsp);
      byNamespace.set(this.nsp.name, this);
      this.nsp.on("connection", (socket: CatchingUpSocket) => this.caughtUp(socket));
    }

    private get recovery(): boolean {
      return position !== undefined && recoveryEnabled(this.nsp.server);
    }

    private recoverable(packet: Packet, opts: BroadcastOptions): boolean {
      return this.recovery && packet.type === EVENT && packet.id === undefined && !opts.flags?.volatile && !opts.flags?.local;
    }

    override broadcast(packet: Packet, opts: BroadcastOptions): Promise<void> {
      if (!this.recoverable(packet, opts)) return super.broadcast(packet, opts);
      const seq = position!.next();
      const wire = toWire(opts);
      // queued in this worker's order, written at the end of the turn or before the next packet to
      // one client (an ack): the primary logs and forwards it in that order
      channel.notify("recovery:broadcast", { nsp: this.nsp.name, packet: { type: packet.type, data: packet.data, nsp: packet.nsp }, opts: wire, seq });
      deliverInOrder(this.nsp.name, { origin: position!.origin, seq, data: packet.data, opts: wire });
      return Promise.resolve();
    }

    /**
     * A recoverable broadcast, this worker's or forwarded, counted as delivered here: to the
     * sockets here (with this worker's offset), to sessions being restored, and, when it is sent
     * to one socket still being set up (an emit in a middleware: Socket.IO sends `socket.emit`
     * as a broadcast to the socket's room when recovery is on), to that socket once it connects.
     */
    deliver(delivery: Delivery): void {
      position!.delivered(delivery.origin, delivery.seq);
      for (const waiting of this.restoring) waiting.push(delivery);
      for (const pending of this.catchingUp.values()) {
        if (reaches(pending.session.rooms, delivery.opts)) pending.add(delivery.origin, delivery.seq, delivery.data);
      }
      const [only] = delivery.opts.rooms;
      if (delivery.opts.rooms.length === 1 && isConnecting(this.nsp, only!)) {
        const held = this.connecting.get(only!) ?? [];
        if (held.length === 0) setTimeout(() => this.connecting.delete(only!), RESTORE_TIMEOUT_MS * 6).unref();
        held.push(delivery);
        this.connecting.set(only!, held);
        return;
      }
      this.sendHere(delivery);
    }

    /** Sends a delivery to its recipients here, with where this worker stands now as its offset. */
    private sendHere(delivery: Delivery): void {
      Adapter.prototype.broadcast.call(this, { type: EVENT, data: [...delivery.data, position!.offset()], nsp: this.nsp.name }, fromWire(delivery.opts));
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
      channel.notify("recovery:session", { nsp: this.nsp.name, session: { sid: id, pid, rooms: [...rooms].map(String) }, seen: position!.offset() });
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
      // what is delivered here from now on may be missing from the answer (this worker's own
      // broadcasts that the primary has not read yet) or in it (forwarded before the answer was
      // computed): kept, and merged with the answer without repeats
      const meanwhile: Delivery[] = [];
      this.restoring.add(meanwhile);
      const asked = Date.now();
      return channel.request(
        "recovery:restore",
        { nsp: this.nsp.name, pid, offset },
        {
          timeoutMs: RESTORE_TIMEOUT_MS,
          fallback: () => null,
          // from the answer on (before the next delivery is handled) until the socket connects,
          // the broadcasts it must get are kept for it
          onAnswer: (session) => {
            this.restoring.delete(meanwhile);
            debug("restore of %s from %s: %s after %d ms", pid, offset, session ? `session ${session.sid}` : "nothing", Date.now() - asked);
            if (!session) return;
            const { sid, pid: restored, rooms, data, base, missed } = session;
            const pending = new CatchUp({ sid, pid: restored, rooms, data }, base);
            for (const [origin, seq, packetData] of missed) pending.add(origin, seq, packetData);
            for (const delivery of meanwhile) {
              if (reaches(rooms, delivery.opts)) pending.add(delivery.origin, delivery.seq, delivery.data);
            }
            this.catchingUp.set(sid, pending);
            setTimeout(() => this.catchingUp.delete(sid), RESTORE_TIMEOUT_MS * 6).unref();
          },
        },
      ).then((session) => session && { sid: session.sid, pid: session.pid, rooms: session.rooms, data: session.data, missedPackets: [] }) as Promise<Session>;
    }

    /** A restored socket is connected (its CONNECT is written): send it what it missed, then what was broadcast while it was being restored. */
    private caughtUp(socket: CatchingUpSocket): void {
      const pending = this.catchingUp.get(socket.id);
      if (pending) {
        this.catchingUp.delete(socket.id);
        debug("%s caught up with %d packets", socket.id, pending.packets.length);
        replayMissed(socket, this.nsp.name, pending.packets);
      }
      const held = this.connecting.get(socket.id);
      if (!held) return;
      this.connecting.delete(socket.id);
      // delivered here before the socket joined its room: it joined past them, so they carry where this worker stands now
      for (const delivery of held) this.sendHere(delivery);
    }
  }
  return RecoveringClusterAdapter;
}
