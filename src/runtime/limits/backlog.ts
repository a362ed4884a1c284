import createDebug from "debug";
import type { EventEmitter } from "node:events";
import type { Server, Socket } from "socket.io";
import type { SocketLimits } from "./installed";
import { limitCounters } from "./limit-counters";

const debug = createDebug("runtime:limits:backlog");

/** The parts of an engine.io socket and transport (both engines) the watch reads. */
interface WatchedTransport {
  readonly name: string;
  /** uWS: its WebSocket (`getBufferedAmount()`); Node: a `ws` WebSocket (`bufferedAmount`). */
  socket?: { getBufferedAmount?: () => number; bufferedAmount?: number; close?: () => void; terminate?: () => void };
}
interface WatchedConn extends EventEmitter {
  readonly id: string;
  readonly readyState: string;
  transport: WatchedTransport;
  onClose(reason: string, description?: Error): void;
}
interface ConnState {
  /** Bytes of the packets in the session's write buffer (a polling session waiting for its next GET). */
  pending: number;
  /**
   * Bytes already waiting when the watch began: a recovery replay, sent before the socket connects.
   * Allowed on top of `MAX_BACKLOG` until the backlog first falls back under it.
   */
  allowance: number;
  cut: boolean;
}

/** Bytes one transport holds for its client: a WebSocket's buffered amount; 0 for polling. */
export function transportBacklog(transport: WatchedTransport): number {
  const socket = transport.name === "websocket" ? transport.socket : undefined;
  if (!socket) return 0;
  if (typeof socket.getBufferedAmount === "function") {
    try {
      return socket.getBufferedAmount();
    } catch {
      return 0; // a uWS WebSocket already closed
    }
  }
  return typeof socket.bufferedAmount === "number" ? socket.bufferedAmount : 0;
}

function packetBytes(packet: { data?: unknown }): number {
  const data = packet.data;
  if (typeof data === "string") return data.length;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

/** How long a slow consumer's WebSocket may take to read what was queued before its close frame (ms). */
const CUT_GRACE_MS = 3000;

/** Separator of uWS topics in Socket.IO's uWS adapter: `<namespace>\x1f<room>`. */
const TOPIC_SEPARATOR = "\x1f";

const watches = new WeakMap<Server, BacklogWatch>();

/** The watch installed on `io`, if any. */
export function backlogWatchOf(io: Server): BacklogWatch | undefined {
  return watches.get(io);
}

/**
 * `MAX_BACKLOG`: a client for which more bytes wait than the bound (a WebSocket's backpressure, or
 * the packets a polling session holds for its next GET) is disconnected instead of growing the
 * worker's memory. Checked on each packet sent to the client, and (uWS) after broadcasts
 * published natively, for their recipients. The disconnection reason is `forced close` with an
 * `Error("slow consumer: …")` description, a reason Socket.IO keeps the session for: with connection
 * state recovery the client reconnects and gets what it missed.
 */
export class BacklogWatch {
  private readonly states = new WeakMap<WatchedConn, ConnState>();
  private readonly topics = new Set<string>();
  private sweepQueued = false;

  constructor(
    private readonly io: Server,
    private readonly limits: SocketLimits,
  ) {
    watches.set(io, this);
    const watchNamespace = (nsp: ReturnType<Server["of"]>) => nsp.on("connection", (socket: Socket) => this.watch(socket.conn as unknown as WatchedConn));
    for (const nsp of io._nsps.values()) watchNamespace(nsp);
    io.on("new_namespace", watchNamespace);
  }

  /** Watches one Engine.IO session (once, whatever the number of its namespaces). */
  watch(conn: WatchedConn): void {
    if (this.states.has(conn)) return;
    const writeBuffer = (conn as unknown as { writeBuffer?: Array<{ data?: unknown }> }).writeBuffer ?? [];
    const queued = writeBuffer.reduce((sum, packet) => sum + packetBytes(packet), 0);
    const state: ConnState = { pending: queued, allowance: queued + transportBacklog(conn.transport), cut: false };
    this.states.set(conn, state);
    conn.on("packetCreate", (packet: { data?: unknown }) => {
      state.pending += packetBytes(packet);
      this.check(conn, state);
    });
    // the write buffer went to the transport: what is still waiting is the transport's
    conn.on("flush", () => {
      state.pending = 0;
    });
  }

  /** A broadcast was published natively (uWS) to `topic`: its recipients are checked once this turn ends. */
  topicPublished(topic: string): void {
    this.topics.add(topic);
    if (this.sweepQueued) return;
    this.sweepQueued = true;
    queueMicrotask(() => this.sweep());
  }

  private sweep(): void {
    this.sweepQueued = false;
    for (const topic of this.topics) {
      const cut = topic.indexOf(TOPIC_SEPARATOR);
      const nsp = this.io._nsps.get(cut < 0 ? topic : topic.slice(0, cut));
      if (!nsp) continue;
      const ids = cut < 0 ? nsp.sockets.keys() : nsp.adapter.rooms.get(topic.slice(cut + 1))?.values();
      if (!ids) continue;
      for (const id of ids) {
        const conn = nsp.sockets.get(id)?.conn as unknown as WatchedConn | undefined;
        const state = conn && this.states.get(conn);
        if (conn && state) this.check(conn, state);
      }
    }
    this.topics.clear();
  }

  private check(conn: WatchedConn, state: ConnState): void {
    if (state.cut) return;
    const backlog = state.pending + transportBacklog(conn.transport);
    if (state.allowance > 0 && backlog <= this.limits.maxBacklog) state.allowance = 0;
    if (backlog > this.limits.maxBacklog + state.allowance) this.cut(conn, state, backlog);
  }

  private cut(conn: WatchedConn, state: ConnState, backlog: number): void {
    state.cut = true;
    state.pending = 0;
    limitCounters.slowConsumerDisconnects++;
    const transport = conn.transport;
    this.limits.log.warn(
      { event: "slow-consumer", sid: conn.id, transport: transport.name, backlog, limit: this.limits.maxBacklog },
      "slow consumer disconnected",
    );
    debug("cutting %s off: %d bytes waiting", conn.id, backlog);
    // the packet being created is still pushed by engine.io: close once this call returns
    queueMicrotask(() => {
      const socket = transport.socket;
      // engine.io closes the WebSocket gracefully: what is queued, then the close frame. A client
      // that reads late gets its packets in order before the close (and so resumes from the right
      // offset); one that still does not read is dropped after a grace, with what waits for it.
      conn.onClose("forced close", new Error(`slow consumer: ${backlog} bytes waiting, over MAX_BACKLOG (${this.limits.maxBacklog})`));
      setTimeout(() => {
        try {
          if (typeof socket?.terminate === "function") socket.terminate();
          else if (typeof socket?.getBufferedAmount === "function") socket.close?.();
        } catch {
          // already closed
        }
      }, CUT_GRACE_MS).unref();
    });
  }
}
