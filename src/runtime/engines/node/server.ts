import createDebug from "debug";
import { attach, type BaseServer } from "engine.io";
import http from "node:http";
import { Server } from "socket.io";
import type { HttpRoutes } from "../../http/routes";
import type { EngineAdapter, EngineContext, RunningEngine } from "../engine";
import { createSessionId } from "../session-id";
import { acceptRoutedConnections } from "./worker-side";

const debug = createDebug("runtime:node");

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

/**
 * The Node engine: Node's http server in every worker, with connections accepted by the
 * primary and handed to the worker that owns their session (see `primary-side.ts`).
 * The worker itself never listens on the public port.
 */
export const nodeEngine: EngineAdapter = {
  name: "node",
  create(context: EngineContext): RunningEngine {
    const httpServer = http.createServer();
    // registered before Socket.IO attaches, so that engine.io passes it every other request
    httpServer.on("request", (req, res) => serveRoutes(context.routes, req, res));
    httpServer.keepAliveTimeout = 5000;
    const io = new Server(httpServer, { ...context.serverOptions, serveClient: true });
    const engines: BaseServer[] = [];
    /**
     * Session ids name this worker (the primary routes by them), and every polling response
     * closes its connection: a keep-alive connection is routed once, by the request that opened
     * it, and a client may reuse it for a request of another session.
     */
    const adopt = (engine: BaseServer) => {
      engine.generateId = () => createSessionId(context.workerId);
      engine.on("headers", (headers: Record<string, string>) => {
        headers.Connection = "close";
      });
      engines.push(engine);
      return engine;
    };
    adopt(io.engine);
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
      stopAccepting() {
        // the primary owns the listening socket and stops routing here when it drains
      },
      closeSessions() {
        for (const engine of engines) engine.close();
      },
      sessionCount: () => engines.reduce((sum, engine) => sum + engine.clientsCount, 0),
      close() {
        stopRouting?.();
        httpServer.close();
      },
    };
  },
};
