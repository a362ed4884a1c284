import createDebug from "debug";
import { Socket, type Namespace, type Server } from "socket.io";
import { Adapter } from "socket.io-adapter";
import {
  interceptSocketPackets,
  interceptNamespaceJoins,
  interceptReservedEvents,
  interceptSocketEvents,
  parserOf,
  setParser,
  type EventPacket,
  type ParserLike,
  type PublicSocket,
  type SocketInternals,
} from "./internals";

const debug = createDebug("runtime:sockets");

/** The answer a client gets when an application handler or middleware failed. */
export const INTERNAL_ERROR = "internal error";

/** An application handler, middleware or connection listener that threw or rejected. */
export interface HandlerFault {
  nsp: Namespace;
  /** Where it failed: an event handler (`event`), a namespace middleware, or a connection listener. */
  where: "event" | "middleware" | "connect" | "connection";
  err: unknown;
  /** For `event`: the socket and the event (name, arguments, and the ack callback last if any). */
  socket?: PublicSocket;
  event?: unknown[];
}

/**
 * The named hooks of Socket.IO's lifecycle, in the order a socket meets them. Each is a list, run
 * in the order the subsystems registered (the worker registers limits first, then metrics, then
 * the engine's and the backend's): see `runtime/worker.ts`.
 */
export interface SocketHooks {
  /** A namespace exists (the main one included; hooks added later run for the existing ones at once). */
  namespace: Array<(nsp: Namespace) => void>;
  /**
   * A client asks to join a namespace, before Socket.IO reads its auth (its session's recovery id
   * and offset included): a hook may complete the auth.
   */
  handshake: Array<(nsp: Namespace, auth: Record<string, unknown>) => void>;
  /** A socket connected: runs before the application's `connect`/`connection` listeners. */
  connection: Array<(socket: Socket) => void>;
  /**
   * A client's event, before anything of the application sees it (its `onAny` listeners and
   * `socket.use` middlewares included). A hook that returns `false` has refused the event and
   * answered the client itself: the later hooks and the application do not see it.
   */
  event: Array<(socket: SocketInternals, packet: EventPacket) => boolean>;
  /**
   * `socket.join(rooms)`, before anything is joined. A hook may throw (nothing is joined, the
   * caller gets the error) or return `false` to skip the socket silently; `serverSide` is true for
   * joins the adapter makes (`socketsJoin`, from this worker or another), which must not throw.
   */
  join: Array<(socket: Socket, rooms: readonly string[], serverSide: boolean) => boolean>;
  /**
   * An application handler, middleware or connection listener threw or rejected: the pipeline has
   * contained it (the worker and the other listeners go on); the hooks report it and answer the
   * client (an event's acknowledgement, if any, is the last element of `fault.event`).
   */
  fault: Array<(fault: HandlerFault) => void>;
  /**
   * A packet is about to be written to one client on the server's own account: its CONNECT to a
   * namespace, the acknowledgement of its event, a DISCONNECT, an event when recovery is off (not
   * broadcasts). What led to it (its session's rooms, the handler's broadcasts) must be on its
   * way to the other processes by then.
   */
  packet: Array<(socket: PublicSocket) => void>;
  /** An event was emitted to one socket (`socket.emit`). */
  emit: Array<(socket: Socket) => void>;
  /** A broadcast started on this worker (`io.emit`, `to(room).emit`, …), once per operation. */
  broadcast: Array<(nsp: Namespace) => void>;
}

const pipelines = new WeakMap<Server, SocketPipeline>();

/** The pipeline of the server `socket` belongs to, if it has one. */
const pipelineOf = (socket: PublicSocket): SocketPipeline | undefined => pipelines.get(socket.nsp.server);

/**
 * The one place that hooks into Socket.IO: installs its interceptors once per process (on
 * `Socket.prototype`, `Adapter.prototype`) and once per namespace (its reserved events, `use`,
 * its adapter's broadcasts), and runs the {@link SocketHooks} of the server a socket belongs to.
 * Servers without a pipeline behave as stock Socket.IO.
 */
export class SocketPipeline {
  readonly hooks: SocketHooks = { namespace: [], handshake: [], connection: [], event: [], join: [], fault: [], packet: [], emit: [], broadcast: [] };
  private readonly namespaces = new Set<Namespace>();

  constructor(private readonly io: Server) {
    pipelines.set(io, this);
    installPrototypeInterceptors();
    for (const nsp of io._nsps.values()) this.setUpNamespace(nsp);
    io.on("new_namespace", (nsp) => this.setUpNamespace(nsp));
  }

  /** Adds a hook at the end of its list. */
  add<K extends keyof SocketHooks>(name: K, hook: SocketHooks[K][number]): this {
    (this.hooks[name] as Array<SocketHooks[K][number]>).push(hook);
    if (name === "namespace") for (const nsp of this.namespaces) (hook as SocketHooks["namespace"][number])(nsp);
    return this;
  }

  /** Replaces the parser the server decodes new clients with by `wrap(current)`. */
  decorateParser(wrap: (parser: ParserLike) => ParserLike): this {
    setParser(this.io, wrap(parserOf(this.io)));
    return this;
  }

  /** Reports a fault to the `fault` hooks (themselves contained). */
  fault(fault: HandlerFault): void {
    for (const hook of this.hooks.fault) {
      try {
        hook(fault);
      } catch (err) {
        debug("fault hook failed: %s", (err as Error).message);
      }
    }
  }

  private setUpNamespace(nsp: Namespace): void {
    if (this.namespaces.has(nsp)) return;
    this.namespaces.add(nsp);
    // every feature of an application may listen to `connection`: that is not a leak
    nsp.setMaxListeners(Math.max(nsp.getMaxListeners(), 100));
    this.containConnectionListeners(nsp);
    this.containMiddlewares(nsp);
    this.observeBroadcasts(nsp);
    for (const hook of this.hooks.namespace) hook(nsp);
    debug("namespace %s set up", nsp.name);
  }

  /**
   * `connect`/`connection`: the `connection` hooks first, then the listeners one by one, each
   * contained: one that throws or rejects is reported, the others still run, the socket stays
   * connected (what its handlers set up is the application's business).
   */
  private containConnectionListeners(nsp: Namespace): void {
    interceptReservedEvents(nsp, (event, args, stock) => {
      if (event !== "connect" && event !== "connection") return stock();
      if (event === "connection") for (const hook of this.hooks.connection) hook(args[0] as Socket);
      for (const listener of nsp.rawListeners(event) as Array<(...args: unknown[]) => unknown>) {
        const failed = (err: unknown) => this.fault({ nsp, where: event, err });
        try {
          const result = listener.apply(nsp, args);
          if (isThenable(result)) result.then(undefined, failed);
        } catch (err) {
          failed(err);
        }
      }
      return true;
    });
  }

  /**
   * A namespace middleware (`io.use`, `nsp.use`) that throws or rejects refuses the connection with
   * `connect_error` "internal error" instead of killing the worker (Socket.IO runs middlewares in
   * the engine's data callback, where a throw is uncaught).
   */
  private containMiddlewares(nsp: Namespace): void {
    type Middleware = (socket: Socket, next: (err?: Error) => void) => unknown;
    const use = nsp.use.bind(nsp);
    nsp.use = (middleware: Middleware) =>
      use((socket, next) => {
        let answered = false;
        const once = (err?: Error) => {
          if (answered) return;
          answered = true;
          next(err);
        };
        const failed = (err: unknown) => {
          this.fault({ nsp, where: "middleware", err });
          once(new Error(INTERNAL_ERROR));
        };
        try {
          const result = middleware(socket, once);
          if (isThenable(result)) result.then(undefined, failed);
        } catch (err) {
          failed(err);
        }
      });
  }

  /**
   * Runs the `broadcast` hooks for the broadcasts that start at this namespace's adapter. The
   * cluster adapter delivers other workers' broadcasts through its parent class's method, not
   * through the instance's, so each broadcast is seen once, on the worker where it started.
   */
  private observeBroadcasts(nsp: Namespace): void {
    const adapter = nsp.adapter;
    // resolved at call time: Socket.IO's uWS integration replaces Adapter.prototype.broadcast at start
    const own = (name: "broadcast" | "broadcastWithAck") => (Object.prototype.hasOwnProperty.call(adapter, name) ? adapter[name] : undefined);
    const ownBroadcast = own("broadcast") as Adapter["broadcast"] | undefined;
    const ownBroadcastWithAck = own("broadcastWithAck") as Adapter["broadcastWithAck"] | undefined;
    const proto = Object.getPrototypeOf(adapter) as Adapter;
    const hooks = this.hooks.broadcast;
    const started = () => {
      if (socketEmitDepth === 0) for (const hook of hooks) hook(nsp);
    };
    adapter.broadcast = function (this: Adapter, ...args: Parameters<Adapter["broadcast"]>) {
      started();
      return (ownBroadcast ?? proto.broadcast).apply(this, args);
    };
    adapter.broadcastWithAck = function (this: Adapter, ...args: Parameters<Adapter["broadcastWithAck"]>) {
      started();
      return (ownBroadcastWithAck ?? proto.broadcastWithAck).apply(this, args);
    };
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}

/**
 * Non-zero while a `socket.emit` runs. With connection state recovery on, Socket.IO sends a
 * single socket's event through the adapter's `broadcast` (to the socket's own room, so that the
 * packet gets an offset): that is an event sent to one socket, not a broadcast.
 */
let socketEmitDepth = 0;
/** Non-zero while the adapter makes sockets join rooms for the server (`socketsJoin`, local or from another worker). */
let serverSideJoins = 0;
let installed = false;

/** Calls every listener of `event[0]` as EventEmitter does, each one contained. */
function callListeners(socket: SocketInternals, event: unknown[], pipeline: SocketPipeline): void {
  // an EVENT packet without data (`42`) has no name: nothing listens (and rawListeners(undefined) throws)
  if (typeof event[0] !== "string" && typeof event[0] !== "number") return;
  const listeners = socket.rawListeners(event[0] as string) as Array<(...args: unknown[]) => unknown>;
  const args = event.slice(1);
  for (const listener of listeners) {
    const failed = (err: unknown) => pipeline.fault({ nsp: socket.nsp, where: "event", err, socket, event });
    try {
      const result = listener.apply(socket, args);
      if (isThenable(result)) result.then(undefined, failed);
    } catch (err) {
      failed(err);
    }
  }
}

/** The process-wide interceptors (once): each defers to stock Socket.IO for a server without a pipeline. */
function installPrototypeInterceptors(): void {
  if (installed) return;
  installed = true;

  interceptNamespaceJoins((nsp, auth) => {
    const hooks = pipelines.get(nsp.server)?.hooks.handshake;
    if (hooks) for (const hook of hooks) hook(nsp, auth);
  });

  interceptSocketEvents({
    // incoming events: the `event` hooks, then Socket.IO (onAny listeners, middlewares), contained
    event(socket, packet, next) {
      const pipeline = pipelineOf(socket);
      if (!pipeline) return next();
      for (const hook of pipeline.hooks.event) if (!hook(socket, packet)) return;
      try {
        next();
      } catch (err) {
        pipeline.fault({ nsp: socket.nsp, where: "event", err, socket, event: packet.data ?? [] });
      }
    },
    // event listeners and `socket.use` middlewares: contained (Socket.IO runs them in process.nextTick)
    dispatch(socket, event, steps) {
      const pipeline = pipelineOf(socket);
      if (!pipeline) return steps.stock();
      try {
        steps.runMiddlewares((err) => {
          process.nextTick(() => {
            if (err) return steps.middlewareFailed(err);
            if (socket.connected) callListeners(socket, event, pipeline);
            else debug("event after disconnection ignored");
          });
        });
      } catch (err) {
        pipeline.fault({ nsp: socket.nsp, where: "event", err, socket, event });
      }
    },
  });

  interceptSocketPackets((socket) => {
    const hooks = pipelineOf(socket)?.hooks.packet;
    if (hooks) for (const hook of hooks) hook(socket);
  });

  // joins: the `join` hooks decide first
  const join = Socket.prototype.join;
  Socket.prototype.join = function (this: Socket, rooms: string | string[]) {
    const hooks = pipelineOf(this)?.hooks.join;
    if (hooks && hooks.length > 0) {
      const list = Array.isArray(rooms) ? rooms : [rooms];
      for (const hook of hooks) if (!hook(this, list, serverSideJoins > 0)) return;
    }
    return join.call(this, rooms);
  };
  const addSockets = Adapter.prototype.addSockets;
  Adapter.prototype.addSockets = function (this: Adapter, ...args: Parameters<Adapter["addSockets"]>) {
    serverSideJoins++;
    try {
      return addSockets.apply(this, args);
    } finally {
      serverSideJoins--;
    }
  };

  // events emitted to one socket
  const emit = Socket.prototype.emit;
  Socket.prototype.emit = function (this: Socket, ...args: Parameters<Socket["emit"]>) {
    socketEmitDepth++;
    let result: boolean;
    try {
      result = emit.apply(this, args);
    } finally {
      socketEmitDepth--;
    }
    const hooks = pipelineOf(this)?.hooks.emit;
    if (hooks) for (const hook of hooks) hook(this);
    return result;
  } as Socket["emit"];
  debug("Socket.IO interceptors installed");
}

