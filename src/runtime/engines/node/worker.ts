import createDebug from "debug";
import { Server as EngineIoServer, type ErrorCallback, type ServerOptions as EngineOptions } from "engine.io";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type net from "node:net";
import { Server } from "socket.io";
import type { Admission } from "../../admission/worker";
import { refusalBody, refusalHeaders, type Refusal } from "../../admission/refusal";
import type { HttpRoutes } from "../../http/routes";
import { serveWithNode } from "./serve";
import type { WorkerChannel } from "../../ipc/worker";
import type { EngineServerInternals } from "../../sockets/internals";
import { waitUntil, type EngineContext, type RunningEngine } from "../engine";
import { clockHandshakes, watchPingDeadline } from "../ping-deadlines";
import { afterOvertaken, mayHaveOvertaken, overtakenBy } from "../request-order";
import { createSessionId } from "../session-id";

const debug = createDebug("runtime:node");

/** Longest a client may take to send a request's headers on a connection it keeps alive (ms). */
const HEADERS_TIMEOUT_MS = 10_000;
/** Longest a client may take to send a whole request, body included (ms); a long-poll's wait for its answer does not count. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Longest a client may take to complete its TLS handshake (ms); Node's default is 120 s. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

type NodeEngineRequest = http.IncomingMessage & { _query: Record<string, string>; res?: http.ServerResponse };

/**
 * engine.io's Node server with what the cluster needs, in the same places as the uWS engine's
 * `StickyUServer`: session ids that name this worker (the primary routes by them), admission in
 * `verify()` (origin, client address, per-address limits), every polling response closing its
 * connection (a keep-alive connection is routed once, by the request that opened it), and polling
 * requests that crossed the primary kept in order.
 */
class NodeEngineServer extends EngineIoServer {
  constructor(
    opts: Partial<EngineOptions>,
    private readonly workerId: number,
    private readonly admission: Admission,
    /** Whether polling responses may keep their connection (TLS: every connection of an address reaches this worker, until it drains). */
    keepAlive: () => boolean,
  ) {
    super(opts);
    this.on("headers", (headers: Record<string, string>) => {
      if (!keepAlive()) headers.Connection = "close";
    });
    this.use(keepRequestOrder(this as unknown as EngineServerInternals) as never);
    clockHandshakes(this);
    this.prependListener("connection", (session) => {
      this.admission.opened(session);
      watchPingDeadline(session, this.opts);
    });
  }

  override generateId(): string {
    return createSessionId(this.workerId);
  }

  protected override verify(req: NodeEngineRequest, upgrade: boolean, fn: ErrorCallback): void | boolean {
    const refused = this.admission.checkOrigin(req.headers.origin);
    if (refused) return refuse(req, upgrade, refused);
    if (req._query.sid) return super.verify(req, upgrade, fn);
    const forwarded = req.headers["x-forwarded-for"];
    this.admission.handshake(
      { peer: req.socket.remoteAddress ?? "", forwardedFor: Array.isArray(forwarded) ? forwarded.join(",") : forwarded, carrier: req },
      fn,
      (callback) => super.verify(req, upgrade, callback),
      {
        refuse: (refusal) => refuse(req, upgrade, refusal),
        resume: (proceed) => {
          if (!req.socket.destroyed) proceed();
        },
      },
    );
  }
}

/** Answers a refused polling request, or a WebSocket upgrade on its raw socket (instead of upgrading). */
function refuse(req: NodeEngineRequest, upgrade: boolean, refusal: Refusal): void {
  const body = refusalBody(refusal);
  if (!upgrade) {
    const res = req.res;
    if (!res || res.headersSent || res.writableEnded) return;
    res.writeHead(refusal.status, { ...refusalHeaders(refusal), "content-length": Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  const socket = req.socket;
  if (!socket.writable) return void socket.destroy();
  const headers = Object.entries({ ...refusalHeaders(refusal), "content-length": String(Buffer.byteLength(body)), connection: "close" })
    .map(([key, value]) => `${key}: ${value}\r\n`)
    .join("");
  socket.end(`HTTP/1.1 ${refusal.status} ${refusal.statusText}\r\n${headers}\r\n${body}`, () => socket.destroy());
}

type EngineMiddleware = (req: http.IncomingMessage, res: http.ServerResponse, next: (err?: unknown) => void) => void;

/** Holds a polling request that may have overtaken another one on its way through the primary. */
function keepRequestOrder(engine: EngineServerInternals): EngineMiddleware {
  return (req, _res, next) => {
    const query = (req as NodeEngineRequest)._query;
    const session = query.sid && query.transport === "polling" ? engine.clients[query.sid] : undefined;
    const method = req.method ?? "GET";
    if (!session || !mayHaveOvertaken(session.transport, method, req.headers["content-length"])) return next();
    const decide = (body: string) => {
      const wait = overtakenBy(session.transport, method, body);
      if (wait) afterOvertaken(session.transport, wait, () => next());
      else next();
    };
    if (method !== "POST") return decide("");
    // peek at the one-byte body, then put it back for engine.io
    req.once("readable", () => {
      const chunk = req.read() as Buffer | null;
      if (chunk) req.unshift(chunk);
      decide(chunk ? chunk.toString() : "");
    });
  };
}

/**
 * The worker's HTTP server: `https` with the configured key and certificate (the primary routes
 * the raw TCP connection by client address and the worker terminates TLS), or plain `http`.
 * A client that does not speak TLS (plain HTTP to the TLS port) fails its handshake and its
 * connection is closed; nothing else happens.
 */
function createPublicServer(config: EngineContext["config"]): { server: http.Server; secure: boolean } {
  if (!config.sslKeyFile || !config.sslCertFile) return { server: http.createServer(), secure: false };
  const server = https.createServer({
    key: readFileSync(config.sslKeyFile),
    cert: readFileSync(config.sslCertFile),
    ...(config.sslPassphrase ? { passphrase: config.sslPassphrase } : {}),
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  });
  server.on("tlsClientError", (err, socket) => {
    debug("TLS handshake failed from %s: %s", socket.remoteAddress, err.message);
    socket.destroy();
  });
  // https.Server has http.Server's whole API (Node builds it from the same prototype methods)
  return { server: server as unknown as http.Server, secure: true };
}

/**
 * The Node engine's worker half: Node's http server, with connections accepted by the primary and
 * handed to the worker that owns their session (`./primary.ts`). The worker never listens on the
 * public port itself.
 */
export function startNodeWorker(context: EngineContext): RunningEngine {
  // SSL_KEY_FILE + SSL_CERT_FILE: https, the worker terminates TLS (the primary routes by client address)
  const { server: httpServer, secure } = createPublicServer(context.config);
  let draining = false;
  // the runtime's routes take what no engine takes (engine.io passes on what is not under its path)
  httpServer.on("request", (req, res) => serveWithNode(context.routes, req, res));
  httpServer.keepAliveTimeout = 5000;
  // slow clients (headers or a body dribbled byte by byte) are cut off (see startConnectionChecks)
  httpServer.headersTimeout = HEADERS_TIMEOUT_MS;
  httpServer.requestTimeout = REQUEST_TIMEOUT_MS;
  (httpServer as http.Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = 1000;
  const engines: NodeEngineServer[] = [];
  const attach = (path: string, options: Partial<EngineOptions>): NodeEngineServer => {
    const engine = new NodeEngineServer({ ...options, path } as Partial<EngineOptions>, context.workerId, context.admission, () => secure && !draining);
    engine.attach(httpServer, { ...options, path });
    engines.push(engine);
    return engine;
  };
  const io = new Server(context.serverOptions);
  io.bind(attach(io.path(), context.serverOptions as Partial<EngineOptions>));
  // the official client's files, under the Socket.IO path that engine.io now intercepts
  serveClientFilesFirst(httpServer, context.routes);
  // every response closes its connection, like polling responses (NodeEngineServer): the primary
  // routed the connection once, by its first request, and a browser reuses a kept-alive connection
  // for its next requests, such as the polls of a session that another worker owns
  httpServer.prependListener("request", (_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!(secure && !draining)) res.shouldKeepAlive = false;
  });
  const sessionCount = () => engines.reduce((sum, engine) => sum + engine.clientsCount, 0);
  let stopRouting: (() => void) | undefined;

  return {
    io,
    useHooks() {
      // nothing engine-specific happens per socket on Node's http server
    },
    createEngineServer: (path, options) => attach(path, options),
    listen: async () => {
      stopRouting = acceptRoutedConnections(httpServer, context.channel);
      debug("accepting connections routed by the primary");
    },
    // the Node engine's port is the primary's: there is no handover, so never a held start
    serve() {},
    stopAccepting() {
      // the primary routes new connections to the new workers; keep-alive ones (TLS) close when idle
      draining = true;
      if (secure) httpServer.closeIdleConnections();
    },
    async drain(deadline) {
      // the primary owns the listening socket: it stops routing here before it asks to drain
      draining = true;
      if (secure) httpServer.closeIdleConnections();
      for (const engine of engines) engine.close();
      await waitUntil(() => sessionCount() === 0, deadline);
    },
    sessionCount,
    close() {
      stopRouting?.();
      httpServer.close();
    },
  };
}

/** Puts the runtime's routes for the official client's files (`/socket.io/socket.io.js`, …) before engine.io's. */
function serveClientFilesFirst(httpServer: http.Server, routes: HttpRoutes): void {
  const listeners = httpServer.listeners("request").slice() as Array<(req: http.IncomingMessage, res: http.ServerResponse) => void>;
  httpServer.removeAllListeners("request");
  httpServer.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (routes.isClientFile(req.url ?? "")) return serveWithNode(routes, req, res);
    for (const listener of listeners) listener.call(httpServer, req, res);
  });
}

/**
 * Takes the connections the primary hands to this worker and serves them with `httpServer`,
 * starting with the bytes the primary already read. Returns a function that stops it.
 */
function acceptRoutedConnections(httpServer: http.Server, channel: WorkerChannel): () => void {
  startConnectionChecks(httpServer);
  let accepting = true;
  channel.on("routing:connection", ({ head }, handle) => {
    const socket = handle as net.Socket | undefined;
    if (!socket) return;
    if (!accepting) return void socket.destroy();
    const bytes = Buffer.from(head, "base64");
    debug("connection with %d bytes", bytes.length);
    httpServer.emit("connection", socket);
    if (bytes.length > 0) socket.unshift(bytes);
    socket.resume();
  });
  return () => {
    accepting = false;
  };
}

/**
 * Node enforces `headersTimeout` and `requestTimeout` only on the connections of a server that
 * emitted `listening`; this one never listens (the primary owns the port), so without this a
 * client dribbling its headers or body byte by byte would keep its connection forever.
 */
function startConnectionChecks(httpServer: http.Server): void {
  const setup = httpServer.listeners("listening").find((listener) => listener.name === "setupConnectionsTracking");
  if (setup) setup.call(httpServer);
  else debug("this Node version does not track connections: headersTimeout and requestTimeout do not apply");
}
