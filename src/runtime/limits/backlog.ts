import createDebug from "debug";
import type { Server } from "socket.io";
import { engineSocketOf, isReplaying, transportBacklog, UWS_TOPIC_SEPARATOR, type EngineSocket } from "../sockets/internals";
import { limitCounters } from "./counters";
import type { SocketLimits } from "./worker";

const debug = createDebug("runtime:limits:backlog");

interface ConnState {
  /** Bytes of the packets in the session's write buffer (a polling session waiting for its next GET). */
  pending: number;
  /**
   * Bytes of a recovery replay (what a restored client missed; already waiting when the watch
   * began, or written by `replayMissed`). Allowed on top of `MAX_BACKLOG` until the backlog first
   * falls back under it.
   */
  allowance: number;
  cut: boolean;
  /** The watch of the session's server. */
  watch: BacklogWatch;
}

/**
 * Every watched session's state (whichever server it belongs to): the listeners below are shared
 * by all sessions (Engine.IO calls them with the session as `this`), not two closures per session.
 */
const sessionStates = new WeakMap<EngineSocket, ConnState>();

function onPacketCreate(this: EngineSocket, packet: { data?: unknown }): void {
  const state = sessionStates.get(this);
  if (!state) return;
  state.pending += packetBytes(packet);
  if (isReplaying(this)) {
    state.allowance = Math.max(state.allowance, state.pending + transportBacklog(this.transport));
    return;
  }
  state.watch.checkAtTurnEnd(this, state);
}

/** The write buffer went to the transport: what is still waiting is the transport's. */
function onFlush(this: EngineSocket): void {
  const state = sessionStates.get(this);
  if (state) state.pending = 0;
}

function packetBytes(packet: { data?: unknown }): number {
  const data = packet.data;
  if (typeof data === "string") return data.length;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

/**
 * How often, at most, the recipients of natively published broadcasts are checked (ms). A slow
 * consumer can exceed `MAX_BACKLOG` by what it is sent in that time before it is cut off; uWS's
 * own limit (`hardBacklogLimit` in `engines/uws/backlog.ts`) closes it anyway far above.
 */
const SWEEP_INTERVAL_MS = 50;

/** How long a slow consumer's WebSocket may take to read what was queued before its close frame (ms). */
const CUT_GRACE_MS = 3000;

const watches = new WeakMap<Server, BacklogWatch>();

/** The watch installed on `io`, if any. */
export function backlogWatchOf(io: Server): BacklogWatch | undefined {
  return watches.get(io);
}

/**
 * `MAX_BACKLOG`: a client for which more bytes wait than the bound (a WebSocket's backpressure, or
 * the packets a polling session holds for its next GET) is disconnected instead of growing the
 * worker's memory. Checked at the end of each event-loop turn in which the client was sent
 * packets, and (uWS) within {@link SWEEP_INTERVAL_MS} of broadcasts published natively, for their
 * recipients. The disconnection reason is `forced close` with an
 * `Error("slow consumer: …")` description, a reason Socket.IO keeps the session for: with connection
 * state recovery the client reconnects and gets what it missed.
 */
export class BacklogWatch {
  private readonly topics = new Set<string>();
  /** Sessions that were sent packets this turn, checked when it ends (`checkAtTurnEnd`). */
  private readonly due = new Map<EngineSocket, ConnState>();
  private sweepQueued = false;

  constructor(
    private readonly io: Server,
    private readonly limits: SocketLimits,
  ) {
    watches.set(io, this);
  }

  /** Watches one Engine.IO session (once, whatever the number of its namespaces). */
  watch(conn: EngineSocket): void {
    if (sessionStates.has(conn)) return;
    const queued = (conn.writeBuffer ?? []).reduce((sum, packet) => sum + packetBytes(packet), 0);
    sessionStates.set(conn, { pending: queued, allowance: queued + transportBacklog(conn.transport), cut: false, watch: this });
    conn.on("packetCreate", onPacketCreate);
    conn.on("flush", onFlush);
  }

  /**
   * A broadcast was published natively (uWS) to `topic`: its recipients are checked within
   * {@link SWEEP_INTERVAL_MS}, once for all the broadcasts to that topic meanwhile. Checked after
   * every broadcast, a broadcast to 1,000 sockets cost 1,000 checks in JavaScript, which is what
   * publishing natively saves.
   */
  topicPublished(topic: string): void {
    this.topics.add(topic);
    if (this.sweepQueued) return;
    this.sweepQueued = true;
    setTimeout(() => this.sweep(), SWEEP_INTERVAL_MS).unref();
  }

  /**
   * Checks `conn` once the packets of this event-loop turn were handed to its transport. Packets
   * created in one turn (a batch of broadcasts from the primary, an application's loop) wait in
   * Engine.IO's write buffer until the Node engine's WebSocket transport finished its previous
   * write, a few ticks later, even for a client that reads at once: counted on creation, a burst
   * of `MAX_BACKLOG` bytes cut healthy clients. At the turn's end what waits is what the kernel
   * did not take (a WebSocket) or what no GET took (polling).
   */
  checkAtTurnEnd(conn: EngineSocket, state: ConnState): void {
    if (state.cut || this.due.has(conn)) return;
    this.due.set(conn, state);
    if (this.due.size === 1) setImmediate(() => this.checkDue());
  }

  private checkDue(): void {
    const due = [...this.due];
    this.due.clear();
    for (const [conn, state] of due) if (conn.readyState !== "closed") this.check(conn, state);
  }

  private sweep(): void {
    this.sweepQueued = false;
    for (const topic of this.topics) {
      const cut = topic.indexOf(UWS_TOPIC_SEPARATOR);
      const nsp = this.io._nsps.get(cut < 0 ? topic : topic.slice(0, cut));
      if (!nsp) continue;
      const ids = cut < 0 ? nsp.sockets.keys() : nsp.adapter.rooms.get(topic.slice(cut + 1))?.values();
      if (!ids) continue;
      for (const id of ids) {
        const socket = nsp.sockets.get(id);
        const conn = socket && engineSocketOf(socket);
        const state = conn && sessionStates.get(conn);
        if (conn && state) this.check(conn, state);
      }
    }
    this.topics.clear();
  }

  private check(conn: EngineSocket, state: ConnState): void {
    if (state.cut) return;
    const backlog = state.pending + transportBacklog(conn.transport);
    if (state.allowance > 0 && backlog <= this.limits.maxBacklog) state.allowance = 0;
    if (backlog > this.limits.maxBacklog + state.allowance) this.cut(conn, state, backlog);
  }

  private cut(conn: EngineSocket, state: ConnState, backlog: number): void {
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
