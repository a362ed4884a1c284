import createDebug from "debug";
import { attach, type BaseServer } from "engine.io";
import http from "node:http";
import { Server } from "socket.io";
import type { HttpRoutes } from "../../http/routes";
import { Admission } from "../../admission/admission";
import { admitOnNodeEngine } from "../../admission/node-hook";
import type { EngineAdapter, EngineContext, RunningEngine } from "../engine";
import { afterOvertaken, mayHaveOvertaken, overtakenBy, type PollingTransportView } from "../request-order";
import { createSessionId } from "../session-id";
import { waitUntil } from "../../wait";
import { createPublicServer } from "./public-server";
import { acceptRoutedConnections } from "./worker-side";

const debug = createDebug("runtime:node");

/** Longest a client may take to send a request's headers on a connection it keeps alive (ms). */
const HEADERS_TIMEOUT_MS = 10_000;
/** Longest a client may take to send a whole request, body included (ms); a long-poll's wait for its answer does not count. */
const REQUEST_TIMEOUT_MS = 30_000;

function serveRoutes(routes: HttpRoutes, req: http.IncomingMessage, res: http.ServerResponse): void {
  const method = req.method ?? "GET";
  routes
    .handle(method, req.url ?? "/", String(req.headers["if-none-match"] ?? ""))
    .catch(() => ({ status: 500, headers: {}, body: "internal error\n" }))
    .then((answer) => {
      res.writeHead(answer.status, answer.headers);
      res.end(method === "HEAD" ? undefined : answer.body);
    });
}

type EngineMiddleware = (req: http.IncomingMessage, res: http.ServerResponse, next: (err?: unknown) => void) => void;

/** Holds a polling request that may have overtaken another one on its way through the primary. */
function keepRequestOrder(engine: BaseServer): EngineMiddleware {
  const sessions = (engine as unknown as { clients: Record<string, { transport: PollingTransportView }> }).clients;
  return (req, _res, next) => {
    const query = (req as http.IncomingMessage & { _query: Record<string, string> })._query;
    const session = query.sid && query.transport === "polling" ? sessions[query.sid] : undefined;
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
 * The Node engine: Node's http server in every worker, with connections accepted by the
 * primary and handed to the worker that owns their session (see `primary-side.ts`).
 * The worker itself never listens on the public port.
 */
export const nodeEngine: EngineAdapter = {
  name: "node",
  create(context: EngineContext): RunningEngine {
    // SSL_KEY_FILE + SSL_CERT_FILE: https, the worker terminates TLS (the primary routes by client address)
    const { server: httpServer, secure } = createPublicServer(context.config);
    let draining = false;
    // registered before Socket.IO attaches, so that engine.io passes it every other request
    httpServer.on("request", (req, res) => serveRoutes(context.routes, req, res));
    httpServer.keepAliveTimeout = 5000;
    // slow clients (headers or a body dribbled byte by byte) are cut off: see worker-side.ts
    httpServer.headersTimeout = HEADERS_TIMEOUT_MS;
    httpServer.requestTimeout = REQUEST_TIMEOUT_MS;
    (httpServer as http.Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = 1000;
    const io = new Server(httpServer, { ...context.serverOptions, serveClient: true });
    const engines: BaseServer[] = [];
    const admission = new Admission(context.config);
    /**
     * Session ids name this worker (the primary routes by them), and every polling response
     * closes its connection: a keep-alive connection is routed once, by the request that opened
     * it, and a client may reuse it for a request of another session.
     */
    const adopt = (engine: BaseServer) => {
      engine.generateId = () => createSessionId(context.workerId);
      engine.on("headers", (headers: Record<string, string>) => {
        // with TLS every connection of a client address reaches this worker: keep-alive is safe
        // (and saves a TLS handshake per poll) until the worker drains
        if (!secure || draining) headers.Connection = "close";
      });
      engine.use(keepRequestOrder(engine) as never);
      admitOnNodeEngine(engine, admission);
      engines.push(engine);
      return engine;
    };
    adopt(io.engine);
    const sessionCount = () => engines.reduce((sum, engine) => sum + engine.clientsCount, 0);
    let stopRouting: (() => void) | undefined;

    return {
      io,
      createEngineServer(path, options) {
        return adopt(attach(httpServer, { ...options, path }));
      },
      listen: async () => {
        stopRouting = acceptRoutedConnections(httpServer);
        debug("accepting connections routed by the primary");
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
  },
};
