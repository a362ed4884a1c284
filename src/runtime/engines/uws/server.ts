import createDebug from "debug";
import { rmSync } from "node:fs";
import path from "node:path";
import { Server } from "socket.io";
import type { ServerOptions as EngineOptions } from "engine.io";
import uws, { type TemplatedApp, type us_listen_socket } from "uWebSockets.js";
import { Admission } from "../../admission/admission";
import type { EngineAdapter, EngineContext, RunningEngine } from "../engine";
import { mountHttpRoutes } from "./http";
import { privateSocketPath } from "./private-channel";
import { createPublicApp, markSessionsSecure } from "./public-app";
import { subscribeRecoveredSockets } from "./recovered-subscriptions";
import { closingOnBackpressure, hardBacklogLimit, watchingPublishes } from "../../limits/uws-backlog";
import { StickyRouter } from "./sticky-router";
import { StickyUServer } from "./sticky-engine";
import { waitUntil } from "../../wait";

const debug = createDebug("runtime:uws");

/** Socket.IO's uWS adapter patch (native `publish` for broadcasts); not in its package exports. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { patchAdapter } = require(path.join(path.dirname(require.resolve("socket.io/package.json")), "dist", "uws.js")) as {
  patchAdapter(app: TemplatedApp): void;
};


/** The uWebSockets.js engine: one uWS app per worker, all on the same port (SO_REUSEPORT). */
export const uwsEngine: EngineAdapter = {
  name: "uws",
  create(context: EngineContext): RunningEngine {
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
    const engines: StickyUServer[] = [];
    const admission = new Admission(config);
    let listenSocket: us_listen_socket | undefined;
    let privateSocket: us_listen_socket | undefined;
    const socketPath = privateSocketPath(runtimeDir, workerId);

    const attach = (enginePath: string, options: Partial<EngineOptions>): StickyUServer => {
      const attachOptions = { ...options, path: enginePath, maxBackpressure: hardBacklogLimit(config.maxBacklog), idleTimeout: 0 };
      const engine = new StickyUServer(attachOptions as EngineOptions & { path: string }, router, config.upgradeWindow, admission);
      // MAX_BACKLOG: a WebSocket over it is closed (slow consumer), never skipped by publish (src/runtime/limits/)
      engine.attach(closingOnBackpressure(router.interceptor(app, engine)), attachOptions);
      if (secure) markSessionsSecure(engine);
      engines.push(engine);
      return engine;
    };

    const sessionCount = () => engines.reduce((sum, engine) => sum + engine.clientsCount, 0);
    const io = new Server(context.serverOptions);
    io.bind(attach(io.path(), { ...(context.serverOptions as Partial<EngineOptions>) }));
    patchAdapter(watchingPublishes(app, io));
    subscribeRecoveredSockets(io);
    mountHttpRoutes(app, context.routes, () => router.draining);

    return {
      io,
      createEngineServer: (enginePath, options) => attach(enginePath, options),
      listen: () =>
        new Promise<void>((resolve, reject) => {
          if (tlsProblem) return reject(new Error(tlsProblem));
          rmSync(socketPath, { force: true });
          privateApp.listen_unix((token) => {
            if (!token) return reject(new Error(`cannot listen on private socket ${socketPath}`));
            privateSocket = token;
            app.listen(config.host, config.port, (publicToken) => {
              if (!publicToken) return reject(new Error(`cannot listen on ${config.host}:${config.port}${secure ? " (TLS)" : ""}`));
              listenSocket = publicToken;
              debug("listening on %s:%d and %s", config.host, config.port, socketPath);
              resolve();
            });
          }, socketPath);
        }),
      async drain(deadline) {
        router.startDraining();
        if (listenSocket) uws.us_listen_socket_close(listenSocket);
        listenSocket = undefined;
        for (const engine of engines) engine.close();
        await waitUntil(() => sessionCount() === 0 && router.inFlight() === 0, deadline);
      },
      sessionCount,
      close() {
        router.close();
        if (privateSocket) uws.us_listen_socket_close(privateSocket);
        privateSocket = undefined;
        rmSync(socketPath, { force: true });
      },
    };
  },
};
