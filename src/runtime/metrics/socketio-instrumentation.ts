import createDebug from "debug";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Namespace, Server, Socket } from "socket.io";
import type { SocketPipeline } from "../sockets/pipeline";

const debug = createDebug("runtime:metrics:socketio");

/**
 * Namespaces beyond this many share the label {@link OTHER_NAMESPACES}, so that dynamic namespaces
 * (`io.of(/regex/)`, one per user or document) cannot explode the number of series.
 */
export const MAX_NAMESPACE_LABELS = 64;
export const OTHER_NAMESPACES = "(other)";

/** Plain counters of one namespace label, incremented in the hot path, read at scrape time. */
interface NamespaceCounters {
  readonly label: string;
  connections: number;
  disconnections: number;
  recoveries: number;
  eventsReceived: number;
  eventsSent: number;
  broadcasts: number;
}

/**
 * Counts what Socket.IO does on this worker, for every namespace, without the application's
 * help: connections, disconnections, connection state recoveries (`socket.recovered`), events
 * received (the pipeline's `event` hook: those the limits let through), events emitted to one socket (`socket.emit`), broadcasts started here
 * (the namespace adapter's `broadcast` / `broadcastWithAck`, counted once per operation, whatever
 * the number of recipients: with uWS, broadcasts go through `app.publish` and are never seen per
 * socket), and, at scrape time, the connected sockets per namespace and transport.
 *
 * The hot path only increments a number in a plain object; labels are built at scrape time.
 */
export class SocketIoInstrumentation {
  private readonly byLabel = new Map<string, NamespaceCounters>();
  private readonly ofNamespace = new WeakMap<Namespace, NamespaceCounters>();
  /** One `disconnect` listener per namespace label, shared by its sockets (not a closure per socket). */
  private readonly disconnectionCounters = new Map<NamespaceCounters, () => void>();

  constructor(
    private readonly io: Server,
    pipeline: SocketPipeline,
    registry: Registry,
  ) {
    pipeline
      .add("namespace", (nsp) => this.watch(nsp))
      .add("connection", (socket) => this.connected(socket))
      .add("event", (socket) => {
        this.of(socket.nsp).eventsReceived++;
        return true;
      })
      .add("emit", (socket) => {
        this.of(socket.nsp).eventsSent++;
      })
      .add("broadcast", (nsp) => {
        this.of(nsp).broadcasts++;
      });
    this.register(registry);
  }

  private countersFor(name: string): NamespaceCounters {
    const label = this.byLabel.has(name) || this.byLabel.size < MAX_NAMESPACE_LABELS ? name : OTHER_NAMESPACES;
    let counters = this.byLabel.get(label);
    if (!counters) {
      counters = { label, connections: 0, disconnections: 0, recoveries: 0, eventsReceived: 0, eventsSent: 0, broadcasts: 0 };
      this.byLabel.set(label, counters);
    }
    return counters;
  }

  private watch(nsp: Namespace): void {
    if (this.ofNamespace.has(nsp)) return;
    const counters = this.countersFor(nsp.name);
    this.ofNamespace.set(nsp, counters);
    debug("instrumenting namespace %s (label %s)", nsp.name, counters.label);
  }

  private of(nsp: Namespace): NamespaceCounters {
    return this.ofNamespace.get(nsp) ?? this.countersFor(nsp.name);
  }

  private connected(socket: Socket): void {
    const counters = this.of(socket.nsp);
    counters.connections++;
    if (socket.recovered) counters.recoveries++;
    let countDisconnection = this.disconnectionCounters.get(counters);
    if (!countDisconnection) {
      countDisconnection = () => {
        counters.disconnections++;
      };
      this.disconnectionCounters.set(counters, countDisconnection);
    }
    socket.on("disconnect", countDisconnection);
  }

  private register(registry: Registry): void {
    const counter = (name: string, help: string, read: (c: NamespaceCounters) => number) => {
      const byLabel = this.byLabel;
      new Counter({
        name,
        help,
        labelNames: ["namespace"],
        registers: [registry],
        collect() {
          this.reset();
          for (const counters of byLabel.values()) this.inc({ namespace: counters.label }, read(counters));
        },
      });
    };
    const counters: Array<[keyof Omit<NamespaceCounters, "label">, string, string]> = [
      ["connections", "socketio_connections_total", "Sockets connected to a namespace on this worker"],
      ["disconnections", "socketio_disconnections_total", "Sockets disconnected from a namespace on this worker"],
      ["recoveries", "socketio_recoveries_total", "Connections whose state was recovered (socket.recovered) after a temporary disconnection"],
      ["eventsReceived", "socketio_events_received_total", "Events received from clients"],
      ["eventsSent", "socketio_events_sent_total", "Events emitted to one socket (socket.emit; broadcasts are counted apart)"],
      ["broadcasts", "socketio_broadcasts_total", "Broadcasts started on this worker (io.emit, to(room).emit, socket.broadcast.emit, …), once per operation"],
    ];
    for (const [key, name, help] of counters) counter(name, help, (c) => c[key]);

    const io = this.io;
    const ofNamespace = this.ofNamespace;
    new Gauge({
      name: "socketio_connected_clients",
      help: "Sockets connected now, per namespace and current transport (a client in two namespaces counts twice)",
      labelNames: ["namespace", "transport"],
      registers: [registry],
      collect() {
        this.reset();
        const counts = new Map<string, Map<string, number>>();
        for (const nsp of io._nsps.values()) {
          const label = ofNamespace.get(nsp)?.label ?? nsp.name;
          let byTransport = counts.get(label);
          if (!byTransport) {
            byTransport = new Map([
              ["polling", 0],
              ["websocket", 0],
            ]);
            counts.set(label, byTransport);
          }
          for (const socket of nsp.sockets.values()) {
            const transport = socket.conn.transport.name;
            byTransport.set(transport, (byTransport.get(transport) ?? 0) + 1);
          }
        }
        for (const [namespace, byTransport] of counts) {
          for (const [transport, count] of byTransport) this.set({ namespace, transport }, count);
        }
      },
    });
  }
}
