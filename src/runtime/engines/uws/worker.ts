import createDebug from "debug";
import { rmSync } from "node:fs";
import { Server, type Namespace, type Socket } from "socket.io";
import type { ServerOptions as EngineOptions } from "engine.io";
import uws, { type TemplatedApp, type us_listen_socket } from "uWebSockets.js";
import type { HttpRoutes } from "../../http/routes";
import { engineSocketOf, socketIoUwsIntegration, uwsTopic } from "../../sockets/internals";
import type { SocketPipeline } from "../../sockets/pipeline";
import { waitUntil, type EngineContext, type RunningEngine } from "../engine";
import { closingOnBackpressure, hardBacklogLimit, watchingPublishes } from "./backlog";
import { privateSocketPath } from "./private-channel";
import { createPublicApp, markSessionsSecure } from "./public-app";
import { guardResponse, useUpgradeAnchor, wantsClose } from "./response-guard";
import { UpgradeAnchor } from "./upgrade-anchor";
import { StickyUServer } from "./sticky-engine";
import { StickyRouter } from "./sticky-router";

const debug = createDebug("runtime:uws");

/**
 * How long a worker that closed its public listener keeps serving before it may exit (ms). A
 * connection the worker accepted just before the close has its request still on the way; exiting
 * before reading it resets the connection. Measured on this 2-core machine (fresh-connection GETs
 * from 8 loops, 40 generations of 2 workers retired at once): 100 resets in 43,819 requests when
 * the worker exited at once, 36 in 44,805 after two event-loop reads, none in 68,962 with 200 ms,
 * none in 70,467 with 250 ms beside a CPU burner. Sessions closing in the same drain overlap it.
 */
const LISTENER_LINGER_MS = 250;

/** The uWebSockets.js engine's worker half: one uWS app per worker, all on the same port (SO_REUSEPORT). */
export function startUwsWorker(context: EngineContext): RunningEngine {
  const { config, workerId, runtimeDir } = context;
  // SSL_KEY_FILE + SSL_CERT_FILE: an SSLApp; the private app between workers stays plain
  const { app, secure, problem: tlsProblem } = createPublicApp(config);
  const privateApp = uws.App();
  const router = new StickyRouter({
    workerId,
    runtimeDir,
    maxHttpBufferSize: config.maxHttpBufferSize,
    pollTimeoutMs: config.pingInterval + config.pingTimeout + 5000,
    movedTtlMs: 2 * (config.pingInterval + config.pingTimeout),
  });
  router.mountPrivate(privateApp);
  router.held = context.held;
  const anchor = new UpgradeAnchor();
  anchor.mount(privateApp);
  useUpgradeAnchor(anchor);
  const engines: StickyUServer[] = [];
  let listenSocket: us_listen_socket | undefined;
  /** Until when a drain keeps serving the connections accepted before the listener closed. */
  let lingerUntil = 0;
  const closeListener = () => {
    if (!listenSocket) return;
    uws.us_listen_socket_close(listenSocket);
    listenSocket = undefined;
    lingerUntil = Date.now() + LISTENER_LINGER_MS;
  };
  const httpRequests = { inFlight: 0 };
  let privateSocket: us_listen_socket | undefined;
  const socketPath = privateSocketPath(runtimeDir, workerId);

  const attach = (enginePath: string, options: Partial<EngineOptions>): StickyUServer => {
    const attachOptions = { ...options, path: enginePath, maxBackpressure: hardBacklogLimit(config.maxBacklog), idleTimeout: 0 };
    const engine = new StickyUServer(attachOptions as EngineOptions & { path: string }, router, config.upgradeWindow, context.admission);
    // MAX_BACKLOG: a WebSocket over it is closed (slow consumer), never skipped by publish (src/runtime/limits/)
    engine.attach(closingOnBackpressure(router.interceptor(app, engine)), attachOptions);
    if (secure) markSessionsSecure(engine);
    engines.push(engine);
    return engine;
  };

  const sessionCount = () => engines.reduce((sum, engine) => sum + engine.clientsCount, 0);
  const io = new Server(context.serverOptions);
  io.bind(attach(io.path(), { ...(context.serverOptions as Partial<EngineOptions>) }));
  socketIoUwsIntegration().patchAdapter(watchingPublishes([app, privateApp], io));
  mountHttpRoutes(app, context.routes, () => router.draining, httpRequests);

  return {
    io,
    useHooks(pipeline: SocketPipeline) {
      pipeline.add("connection", subscribeIfRecovered);
    },
    createEngineServer: (enginePath, options) => attach(enginePath, options),
    listen: () =>
      new Promise<void>((resolve, reject) => {
        if (tlsProblem) return reject(new Error(tlsProblem));
        rmSync(socketPath, { force: true });
        privateApp.listen_unix((token) => {
          if (!token) return reject(new Error(`cannot listen on private socket ${socketPath}`));
          privateSocket = token;
          anchor.connect(socketPath);
          app.listen(config.host, config.port, (publicToken) => {
            if (!publicToken) return reject(new Error(`cannot listen on ${config.host}:${config.port}${secure ? " (TLS)" : ""}`));
            listenSocket = publicToken;
            debug("listening on %s:%d and %s", config.host, config.port, socketPath);
            resolve();
          });
        }, socketPath);
      }),
    serve() {
      router.held = false;
    },
    stopAccepting() {
      // keep-alive connections that still come answer new handshakes with 503 and close
      router.draining = true;
      closeListener();
    },
    async handOver(deadline) {
      router.startDraining();
      for (const engine of engines) engine.close();
      await waitUntil(() => sessionCount() === 0, deadline);
    },
    async drain(deadline) {
      router.startDraining();
      closeListener();
      for (const engine of engines) engine.close();
      await waitUntil(
        () => sessionCount() === 0 && router.inFlight() === 0 && httpRequests.inFlight === 0 && Date.now() >= lingerUntil,
        deadline,
      );
    },
    sessionCount,
    close() {
      anchor.close();
      router.close();
      if (privateSocket) uws.us_listen_socket_close(privateSocket);
      privateSocket = undefined;
      rmSync(socketPath, { force: true });
    },
  };
}

const REASONS: Record<number, string> = {
  200: "OK",
  304: "Not Modified",
  404: "Not Found",
  405: "Method Not Allowed",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** Serves the runtime's HTTP routes on a uWS app, for every path no other route took; counts the requests being answered. */
function mountHttpRoutes(app: TemplatedApp, routes: HttpRoutes, draining: () => boolean, requests: { inFlight: number }): void {
  app.any("/*", (res, req) => {
    requests.inFlight++;
    const closeAsked = wantsClose(req.getHeader("connection"));
    const guarded = guardResponse(res, () => closeAsked || draining());
    const method = req.getCaseSensitiveMethod().toUpperCase();
    const query = req.getQuery();
    const url = query ? `${req.getUrl()}?${query}` : req.getUrl();
    routes
      .handle(method, url, req.getHeader("if-none-match"))
      .catch(() => ({ status: 500, headers: {}, body: "internal error\n" }))
      .then((answer) => {
        requests.inFlight--;
        if (guarded.aborted) return;
        guarded.cork(() => {
          guarded.writeStatus(`${answer.status} ${REASONS[answer.status] ?? ""}`);
          for (const [key, value] of Object.entries(answer.headers)) guarded.writeHeader(key, value);
          if (method === "HEAD") guarded.endWithoutBody(Buffer.byteLength(answer.body));
          else guarded.end(answer.body);
        });
      });
  });
}

/**
 * Socket.IO's uWS integration subscribes a socket's WebSocket to its namespace and room topics
 * when it joins them; a socket restored by connection state recovery joins its rooms before it is
 * registered, so that subscription never happens and native broadcasts (`app.publish`) would skip
 * it. This `connection` hook subscribes restored sockets once they are connected (or once they upgrade).
 */
function subscribeIfRecovered(socket: Socket): void {
  if (!socket.recovered) return;
  const nsp: Namespace = socket.nsp;
  const conn = engineSocketOf(socket);
  const subscribe = () => {
    const ws = conn.transport.socket;
    if (!ws?.subscribe || conn.transport.name !== "websocket") return;
    ws.subscribe(nsp.name);
    for (const room of socket.rooms) ws.subscribe(uwsTopic(nsp.name, room));
  };
  if (conn.transport.name === "websocket") subscribe();
  else conn.once("upgrade", subscribe);
}
