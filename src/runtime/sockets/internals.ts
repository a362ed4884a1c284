import type { EventEmitter } from "node:events";
import path from "node:path";
import { Namespace as NamespaceClass, Socket as SocketClass, type Namespace, type Server, type Socket } from "socket.io";

/**
 * The private members of Socket.IO 4.8 and engine.io 6.6 the runtime works with, named here and
 * nowhere else: typed views of them, and the few accessors other modules use. A Socket.IO or
 * engine.io upgrade that renames one breaks this file's types, not code scattered elsewhere.
 * (The prototype patches that use them are installed once, by `./pipeline.ts`.)
 */

// --- Socket.IO ------------------------------------------------------------------------------

/** A decoded EVENT or BINARY_EVENT packet from a client, as `Socket.prototype.onevent` gets it. */
export interface EventPacket {
  data?: unknown[];
  id?: number;
  [key: symbol]: unknown;
}

/** A Socket.IO socket's public members (a type that its private-member view below can extend). */
export type PublicSocket = Pick<Socket, keyof Socket>;

/** `Socket`'s private members. */
export interface SocketInternals extends PublicSocket {
  /** Handles a client's event packet: adds the ack callback, runs `onAny` listeners, then `dispatch`. */
  onevent(packet: EventPacket): void;
  /** Runs the `socket.use` middlewares, then (on the next tick) the event's listeners. */
  dispatch(event: unknown[]): void;
  /** Runs the `socket.use` middlewares over `event`. */
  run(event: unknown[], fn: (err?: Error) => void): void;
  /** What a middleware's error becomes (an `error` event on the socket). */
  _onerror(err: Error): void;
  /** The acknowledgement callback of packet `id`. */
  ack(id: number): (...args: unknown[]) => void;
  /** Writes a packet to this socket's client (its CONNECT, an acknowledgement, an event when recovery is off). */
  packet(packet: { type: number }, opts?: unknown): void;
  /** The recovery id of the session (connection state recovery). */
  readonly pid?: string;
}

/** `Namespace`'s private members. */
export interface NamespaceInternals {
  /** Emits a reserved event (`connect`, `connection`) to the namespace's listeners. */
  emitReserved(event: string, ...args: unknown[]): boolean;
  /** Sockets whose connection is being set up (restored sessions join their rooms here). */
  _preConnectSockets: Map<string, Socket>;
}

/** A Socket.IO parser module (`socket.io-parser` or a compatible one). */
export interface ParserLike {
  Encoder: unknown;
  Decoder: new (...args: never[]) => DecoderLike;
}

export interface DecoderLike {
  add(chunk: unknown): void;
  on(event: "decoded", fn: (packet: unknown) => void): unknown;
}

/** `socket.io-parser`'s decoder state while a packet's binary attachments arrive. */
export interface DecoderInternals {
  reconstructor?: { reconPack?: { attachments?: number }; buffers?: unknown[] } | null;
}

/** Whether the binary message being added to `decoder` (socket.io-parser) completes the packet it reconstructs. */
export function completesPacket(decoder: object): boolean {
  const recon = (decoder as DecoderInternals).reconstructor;
  if (!recon) return true;
  return (recon.buffers?.length ?? 0) + 1 >= (recon.reconPack?.attachments ?? 0);
}

export const asSocketInternals = (socket: PublicSocket) => socket as unknown as SocketInternals;

/**
 * Intercepts, once per process, the private steps of a client's event: `event` replaces
 * `Socket.prototype.onevent` (a decoded event packet arrives; `next()` is Socket.IO's own handling:
 * ack callback, `onAny` listeners, then the dispatch), `dispatch` replaces `Socket.prototype.dispatch`
 * (`runMiddlewares` runs the `socket.use` middlewares, `middlewareFailed` is what Socket.IO does with
 * a middleware's error, `stock()` is Socket.IO's own dispatch).
 */
export function interceptSocketEvents(interceptors: {
  event(socket: SocketInternals, packet: EventPacket, next: () => void): void;
  dispatch(
    socket: SocketInternals,
    event: unknown[],
    steps: { runMiddlewares(done: (err?: Error) => void): void; middlewareFailed(err: Error): void; stock(): void },
  ): void;
}): void {
  const proto = SocketClass.prototype as unknown as SocketInternals;
  const onevent = proto.onevent;
  const dispatch = proto.dispatch;
  proto.onevent = function (this: SocketInternals, packet: EventPacket) {
    interceptors.event(this, packet, () => onevent.call(this, packet));
  };
  proto.dispatch = function (this: SocketInternals, event: unknown[]) {
    interceptors.dispatch(this, event, {
      runMiddlewares: (done) => this.run(event, done),
      middlewareFailed: (err) => this._onerror(err),
      stock: () => dispatch.call(this, event),
    });
  };
}

/**
 * Intercepts, once per process, the packets Socket.IO writes to one client on its own account
 * (`Socket.prototype.packet`: a namespace's CONNECT, an acknowledgement, a DISCONNECT, an event when
 * connection state recovery is off; not broadcasts): `before(socket)` runs before it is written.
 */
export function interceptSocketPackets(before: (socket: SocketInternals) => void): void {
  const proto = SocketClass.prototype as unknown as SocketInternals;
  const packet = proto.packet;
  proto.packet = function (this: SocketInternals, p: { type: number }, opts?: unknown) {
    before(this);
    return packet.call(this, p, opts);
  };
}

/**
 * Intercepts, once per process, every client's request to join a namespace
 * (`Namespace.prototype._add`), before Socket.IO reads its auth (connection state recovery's `pid`
 * and `offset` included): `before(nsp, auth)` may change the auth.
 */
export function interceptNamespaceJoins(before: (nsp: Namespace, auth: Record<string, unknown>) => void): void {
  const proto = NamespaceClass.prototype as unknown as { _add(client: unknown, auth: Record<string, unknown>, fn?: unknown): unknown };
  const add = proto._add;
  proto._add = function (this: Namespace, client: unknown, auth: Record<string, unknown>, fn?: unknown) {
    if (auth && typeof auth === "object") before(this, auth);
    return add.call(this, client, auth, fn);
  };
}

/**
 * Intercepts the reserved events (`connect`, `connection`, …) a namespace emits to its listeners:
 * `around(event, args, stock)` decides; `stock()` is Socket.IO's own emission.
 */
export function interceptReservedEvents(nsp: Namespace, around: (event: string, args: unknown[], stock: () => boolean) => boolean): void {
  const internals = asNamespaceInternals(nsp);
  const emitReserved = internals.emitReserved;
  internals.emitReserved = (event: string, ...args: unknown[]) => around(event, args, () => emitReserved.call(nsp, event, ...args));
}
export const asNamespaceInternals = (nsp: Namespace) => nsp as unknown as NamespaceInternals;

/** The socket `id` of namespace `nsp`, connected or still being set up. */
export function namespaceSocket(nsp: Namespace, id: string): SocketInternals | undefined {
  const socket = nsp.sockets.get(id) ?? asNamespaceInternals(nsp)._preConnectSockets.get(id);
  return socket && asSocketInternals(socket);
}

/** Whether socket `id` of namespace `nsp` is still being set up (its middlewares run; it is in no room yet). */
export function isConnecting(nsp: Namespace, id: string): boolean {
  return asNamespaceInternals(nsp)._preConnectSockets.has(id);
}

/** `io`'s connection state recovery options, when it is on. */
export function recoveryOptions(io: Server): { maxDisconnectionDuration?: number } | undefined {
  return (io as unknown as { opts: { connectionStateRecovery?: { maxDisconnectionDuration?: number } } }).opts.connectionStateRecovery;
}

/** Whether connection state recovery is on for `io`. */
export function recoveryEnabled(io: Server): boolean {
  return Boolean(recoveryOptions(io));
}

/** The parser `io` decodes new clients with. */
export function parserOf(io: Server): ParserLike {
  return (io as unknown as { _parser: ParserLike })._parser;
}

/** Makes `io` decode the clients that connect from now on with `parser`. */
export function setParser(io: Server, parser: ParserLike): void {
  (io as unknown as { _parser: ParserLike })._parser = parser;
}

/** Socket.IO's uWS integration (native `publish` for broadcasts): not in its package exports. */
export function socketIoUwsIntegration(): { patchAdapter(app: unknown): void } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(path.dirname(require.resolve("socket.io/package.json")), "dist", "uws.js")) as { patchAdapter(app: unknown): void };
}

/** Separator of uWS topics in Socket.IO's uWS integration: `<namespace>\x1f<room>`, or `<namespace>` alone. */
export const UWS_TOPIC_SEPARATOR = "\x1f";
export const uwsTopic = (nsp: string, room: string) => `${nsp}${UWS_TOPIC_SEPARATOR}${room}`;

// --- engine.io ------------------------------------------------------------------------------

/** An engine.io transport's private members (both HTTP stacks). */
export interface EngineTransport extends EventEmitter {
  readonly name: string;
  /** Polling: a poll request is pending; WebSocket: it can send. */
  writable: boolean;
  discarded: boolean;
  /** Set while a polling POST body is being received. */
  dataReq?: unknown;
  /** WebSocket transports: uWS's WebSocket (`getBufferedAmount()`) or `ws`'s (`bufferedAmount`). */
  socket?: { getBufferedAmount?: () => number; bufferedAmount?: number; close?: () => void; terminate?: () => void; subscribe?: (topic: string) => boolean };
  /** Polling: the pending poll request (`cleanup()` forgets it and its response) and its response. */
  req?: { cleanup?: () => void } | null;
  res?: unknown;
  send(packets: Array<{ type: string; data?: unknown }>): void;
  discard(): void;
  /** Reports a transport error: the session closes (a pending poll gets the close packet). */
  onError(message: string, description?: unknown): void;
}

/** An engine.io session's private members. */
export interface EngineSocket extends EventEmitter {
  readonly id: string;
  readonly readyState: string;
  upgrading: boolean;
  upgraded: boolean;
  writeBuffer: Array<{ data?: unknown }>;
  transport: EngineTransport;
  request: EngineRequestLike;
  protocol: number;
  remoteAddress: string;
  onClose(reason: string, description?: Error): void;
  flush(): void;
}

/** What engine.io keeps of a request (`socket.request`) and what Socket.IO's handshake reads. */
export interface EngineRequestLike {
  method: string;
  url: string;
  headers: Record<string, string>;
  _query: Record<string, string>;
  connection: { remoteAddress: string; encrypted?: boolean };
}

/** An engine.io server's private members. */
export interface EngineServerInternals {
  clients: Record<string, EngineSocket>;
  clientsCount: number;
  opts: { maxHttpBufferSize: number; transports: string[]; pingInterval: number };
  createTransport(name: string, req: EngineRequestLike): EngineTransport;
  emit(event: string, ...args: unknown[]): boolean;
}

/** Engine.IO message payloads: text or binary. */
export type EnginePayload = string | Buffer;

/** The engine.io session of a Socket.IO socket. */
export const engineSocketOf = (socket: PublicSocket) => socket.conn as unknown as EngineSocket;

/** Bytes one transport holds for its client: a WebSocket's buffered amount (uWS or `ws`); 0 for polling. */
export function transportBacklog(transport: EngineTransport): number {
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

/** Engine.IO sessions a recovery replay is being written to (see `replayMissed`). */
const replaying = new WeakSet<object>();

/**
 * Sends a restored socket the events it missed, as one replay: the backlog bound
 * (`limits/backlog.ts`) lets a replay's bytes wait on top of `MAX_BACKLOG` (they are bounded by
 * the recovery log) instead of cutting the client off again for what it came back to get.
 */
export function replayMissed(socket: { conn: unknown; packet(packet: { type: number; data: unknown[]; nsp: string }): void }, nsp: string, events: unknown[][]): void {
  if (events.length === 0) return;
  const conn = socket.conn as object;
  replaying.add(conn);
  try {
    for (const data of events) socket.packet({ type: 2, data, nsp });
  } finally {
    replaying.delete(conn);
  }
}

/** Whether the packets `conn` creates now are a recovery replay. */
export const isReplaying = (conn: object) => replaying.has(conn);

/**
 * Closes the connection of `socket` now, whatever its transport's state (a dead connection never
 * drains), with a reason after which Socket.IO keeps the session for recovery (`forced close`):
 * its client has come back on another connection.
 */
export function closeSuperseded(socket: PublicSocket): void {
  engineSocketOf(socket).onClose("forced close", new Error("superseded: the client reconnected on another connection"));
}
