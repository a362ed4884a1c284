import { createAdapter } from "@socket.io/redis-streams-adapter";
import createDebug from "debug";
import type { RedisClientType } from "redis";
import type { Namespace } from "socket.io";
import { namespaceSocket, recoveryEnabled, recoveryOptions, replayMissed, type SocketInternals } from "../../sockets/internals";
import type { BroadcastOptions, Room, Session, SocketId } from "socket.io-adapter";
import { StreamCatchUp } from "./catch-up";
import { newToken, RedisSessionStore, type SessionRecord } from "./session-store";
import { SESSION_START } from "../rooms";
import { readMissed, STREAM_ID, type StreamMessage } from "./stream-reader";

const debug = createDebug("runtime:redis:recovery");

/** The stream the Redis Streams adapter writes broadcasts to (one stream for every namespace). */
const STREAM = "socket.io";

interface Packet {
  type: number;
  data: unknown[];
  nsp?: string;
}

type SocketLike = Pick<SocketInternals, "id" | "pid" | "data" | "conn"> & { packet(packet: Packet & { nsp: string }): void };

/** The parts of the Redis Streams adapter (an instance of its unexported class) this module extends. */
interface StreamsAdapter {
  nsp: Namespace;
  sids: Map<SocketId, Set<Room>>;
  addAll(id: SocketId, rooms: Set<Room>): void;
  del(id: SocketId, room: Room): void;
  delAll(id: SocketId): void;
  persistSession(session: Session): void;
  restoreSession(pid: string, offset: string): Promise<Session | null>;
  close(): Promise<void> | void;
  onRawMessage(raw: Record<string, string>, offset: string): void;
  addOffsetIfNecessary(packet: Packet, opts: BroadcastOptions, offset: string): void;
}

/** A connected session this worker writes to Redis. */
interface Tracked {
  pid: string;
  token: string;
  /** See {@link SessionRecord.start}. */
  start: string;
}

/**
 * Connection state recovery for the Redis Streams adapter whatever way a connection ended. The
 * adapter alone stores a session when its connection closes, which a killed worker (or machine)
 * never does. Here every connected session has a record in Redis from its connection on (id,
 * rooms, data), rewritten when its rooms change, kept alive by its worker and marked disconnected
 * on a clean disconnection; when the worker dies, its records stay restorable for the recovery
 * window. A record is restored at most once, and never while its session is connected. Missed
 * packets come from the stream, as with the adapter; see {@link StreamCatchUp} for exactly-once.
 *
 * The adapter's class is not exported: each instance gets these methods in place of its own.
 */
class SessionRecords {
  private readonly tracked = new Map<SocketId, Tracked>();
  /** Sessions whose record must be (re)written. */
  private readonly dirty = new Set<SocketId>();
  private flushScheduled = false;
  private readonly catchUp = new StreamCatchUp();
  /** Restored sessions whose socket is not connected yet → the packets they missed, sent after their CONNECT. */
  private readonly missed = new Map<SocketId, unknown[][]>();
  /** The records of those sessions, written back should their connection die before the socket connects. */
  private readonly restoring = new Map<SocketId, Omit<SessionRecord, "owner" | "token">>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly adapter: StreamsAdapter,
    private readonly store: RedisSessionStore,
    private readonly client: RedisClientType,
  ) {
    this.install();
    adapter.nsp.on("connection", (socket) => this.onConnection(socket as unknown as SocketLike));
    store.onOwnerChange(() => {
      for (const sid of this.tracked.keys()) this.dirty.add(sid);
      this.scheduleFlush();
    });
    this.timer = setInterval(() => this.refresh(), store.refreshEvery);
    this.timer.unref();
    // where sessions that begin before this worker delivered any broadcast start from
    client
      .xRevRange(STREAM, "+", "-", { COUNT: 1 })
      .then((entries) => {
        const last = (entries as Array<{ id: string }>)[0]?.id;
        if (last && this.catchUp.lastPolled === undefined) this.catchUp.pollerAt(last);
      })
      .catch((err: Error) => debug("reading the stream's end: %s", err.message));
  }

  private get enabled(): boolean {
    return recoveryEnabled(this.adapter.nsp.server);
  }

  private install(): void {
    const a = this.adapter;
    // the class's methods, looked up at each call: Socket.IO's uWS integration patches the base
    // Adapter's prototype (addAll, del, broadcast) after the first namespace's adapter exists
    const proto = Object.getPrototypeOf(a) as StreamsAdapter;
    const original = {
      addAll: (id: SocketId, rooms: Set<Room>) => proto.addAll.call(a, id, rooms),
      del: (id: SocketId, room: Room) => proto.del.call(a, id, room),
      delAll: (id: SocketId) => proto.delAll.call(a, id),
      // (close is the instance's own: createAdapter wraps it to stop polling with the last namespace)
      close: a.close.bind(a),
      onRawMessage: (raw: Record<string, string>, offset: string) => proto.onRawMessage.call(a, raw, offset),
      addOffsetIfNecessary: (packet: Packet, opts: BroadcastOptions, offset: string) => proto.addOffsetIfNecessary.call(a, packet, opts, offset),
    };
    a.addAll = (id, rooms) => {
      original.addAll(id, rooms);
      this.changed(id);
    };
    a.del = (id, room) => {
      original.del(id, room);
      this.changed(id);
    };
    a.delAll = (id) => {
      original.delAll(id);
      this.ended(id);
    };
    a.persistSession = (session) => this.persist(session);
    a.restoreSession = (pid, offset) => this.restore(pid, offset);
    a.close = () => {
      clearInterval(this.timer);
      return original.close();
    };
    a.onRawMessage = (raw, offset) => {
      original.onRawMessage(raw, offset);
      this.catchUp.pollerAt(offset);
    };
    a.addOffsetIfNecessary = (packet, opts, offset) => {
      const length = packet.data.length;
      original.addOffsetIfNecessary(packet, opts, offset);
      if (packet.data.length === length || this.catchUp.idle) return; // not recoverable, or nothing to watch
      const have = this.catchUp.delivering(offset, packet.data, { rooms: [...opts.rooms].map(String), except: [...(opts.except ?? [])].map(String) });
      // restored sockets that already got this entry from the stream: not again (a fresh Set: the caller's may be shared)
      if (have.length > 0) opts.except = new Set([...(opts.except ?? []), ...have]);
    };
  }

  // --- the records of connected sessions ---------------------------------------------------

  private socket(id: SocketId): SocketLike | undefined {
    return namespaceSocket(this.adapter.nsp, id) as unknown as SocketLike | undefined;
  }

  /** A socket joined or left rooms (its connection included, when it joins its own room). */
  private changed(id: SocketId): void {
    if (!this.enabled) return;
    if (!this.tracked.has(id)) {
      const pid = this.socket(id)?.pid;
      if (!pid) return; // a restored session joining its rooms before it is registered: written once connected
      this.tracked.set(id, { pid, token: newToken(), start: this.restoring.get(id)?.start ?? this.catchUp.lastPolled ?? "" });
    }
    this.dirty.add(id);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Writes the records changed since the last flush (one per session, whatever the number of joins). */
  private flush(): void {
    const owner = this.store.owner;
    if (owner === undefined) return; // Redis is away: written again with the new owner id once it is back
    for (const sid of this.dirty) {
      const tracked = this.tracked.get(sid);
      const rooms = this.adapter.sids.get(sid);
      if (!tracked || !rooms) continue;
      const record = { sid, pid: tracked.pid, nsp: this.adapter.nsp.name, rooms: [...rooms].map(String), data: this.socket(sid)?.data, token: tracked.token, start: tracked.start };
      this.store.write(record, owner).catch((err: Error) => debug("write %s: %s", sid, err.message));
    }
    this.dirty.clear();
  }

  private refresh(): void {
    const pids = [...this.tracked.values()].map((t) => t.pid);
    if (pids.length > 0) this.store.refresh(pids).catch((err: Error) => debug("refresh: %s", err.message));
  }

  /** A clean disconnection that Socket.IO deems recoverable: the record is marked disconnected. */
  private persist(session: Session): void {
    const tracked = this.tracked.get(session.sid);
    this.tracked.delete(session.sid);
    this.dirty.delete(session.sid);
    const record = {
      sid: session.sid,
      pid: session.pid,
      nsp: this.adapter.nsp.name,
      rooms: session.rooms.map(String),
      data: session.data,
      token: tracked?.token ?? newToken(),
      start: tracked?.start ?? "",
    };
    this.store.write(record, "").catch((err: Error) => debug("persist %s: %s", session.sid, err.message));
  }

  /** The socket left every room: at its end; unless persisted just before, its record goes. */
  private ended(id: SocketId): void {
    this.catchUp.abandon(id);
    const abandoned = this.restoring.get(id);
    if (abandoned) {
      // restored, but its connection closed before the socket connected: the record goes back,
      // disconnected, so that the client's next attempt restores it
      this.restoring.delete(id);
      this.missed.delete(id);
      debug("restore of %s abandoned: its record is kept", id);
      this.store.write({ ...abandoned, token: newToken() }, "").catch((err: Error) => debug("keep %s: %s", id, err.message));
      return;
    }
    const tracked = this.tracked.get(id);
    if (!tracked) return;
    this.tracked.delete(id);
    this.dirty.delete(id);
    this.store.remove(tracked.pid).catch((err: Error) => debug("remove %s: %s", id, err.message));
  }

  // --- restoring ------------------------------------------------------------------------------

  // the base class declares Promise<Session>, but Socket.IO expects null for "nothing to restore"
  private async restore(pid: string, clientOffset: string): Promise<Session | null> {
    if (!this.enabled || (clientOffset !== SESSION_START && !STREAM_ID.test(clientOffset))) return null;
    const nsp = this.adapter.nsp.name;
    const record = await this.store.read(pid);
    if (!record || record.nsp !== nsp) return null;
    // a client that never received a broadcast resumes from where its session began
    const offset = clientOffset === SESSION_START ? record.start : clientOffset;
    if (!STREAM_ID.test(offset)) return null;
    if (!(await this.store.ownerGone(record))) {
      debug("%s is still connected: not restored", record.sid);
      return null;
    }
    if (!(await this.store.take(record))) return null; // restored by another worker meanwhile
    this.catchUp.begin(record.sid, record.rooms);
    let missed: Awaited<ReturnType<typeof readMissed>>;
    try {
      missed = await readMissed(this.client, STREAM, nsp, offset, record.rooms, this.decode);
    } catch (err) {
      debug("reading the stream: %s", (err as Error).message);
      missed = null;
    }
    if (!missed) {
      this.catchUp.abandon(record.sid);
      return null;
    }
    const missedPackets = this.catchUp.read(record.sid, missed.packets, missed.last);
    debug("restored %s with %d missed packets", record.sid, missedPackets.length);
    // sent once the socket is connected, after its CONNECT (see the cluster backend's adapter)
    this.missed.set(record.sid, missedPackets);
    this.restoring.set(record.sid, { sid: record.sid, pid, nsp, rooms: record.rooms, data: record.data, start: record.start });
    setTimeout(() => {
      this.missed.delete(record.sid);
      this.restoring.delete(record.sid);
    }, 30_000).unref();
    return { sid: record.sid, pid, rooms: record.rooms, data: record.data, missedPackets: [] };
  }

  private onConnection(socket: SocketLike): void {
    const missed = this.missed.get(socket.id) ?? [];
    this.missed.delete(socket.id);
    this.restoring.delete(socket.id);
    replayMissed(socket, this.adapter.nsp.name, [...missed, ...this.catchUp.connected(socket.id)]);
  }

  private readonly decode = (raw: Record<string, string>): StreamMessage =>
    (this.adapter.constructor as unknown as { decode(raw: Record<string, string>): StreamMessage }).decode(raw);
}

/**
 * Socket.IO's Redis Streams adapter on `client`, with session records in Redis so that connection
 * state recovery survives a worker or machine that dies (see {@link SessionRecords}). The records'
 * lifetime follows the server's `connectionStateRecovery.maxDisconnectionDuration`; without
 * connection state recovery this is the plain adapter.
 */
export function recoveringRedisAdapter(client: RedisClientType): (nsp: unknown) => unknown {
  const base = createAdapter(client, { streamName: STREAM }) as unknown as (nsp: unknown) => StreamsAdapter;
  let store: RedisSessionStore | undefined;
  // a function, not an arrow: Socket.IO calls it with `new`
  return function (nsp: unknown) {
    const adapter = base(nsp);
    const recovery = recoveryOptions(adapter.nsp.server);
    if (!recovery) return adapter;
    if (!store) {
      store = new RedisSessionStore(client, { window: recovery.maxDisconnectionDuration ?? 120_000 });
      store.start().catch((err: Error) => debug("session store: %s", err.message));
    }
    new SessionRecords(adapter, store, client);
    return adapter;
  };
}
