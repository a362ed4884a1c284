import cluster from "node:cluster";
import type { ServerOptions } from "socket.io";
import { loadApplication } from "../../app/registry";
import type { FeatureContext } from "../../app/feature";
import type { Config } from "../../config/env";
import { createLogger } from "../../log/logger";
import { IpcSharedState } from "../../state/ipc/worker-client";
import { createRecoveringAdapter } from "../adapter/recovering-adapter";
import { startRedis, type RedisRuntime } from "../adapter/redis";
import type { SharedState } from "../../state/shared-state";
import type { EngineAdapter, RunningEngine } from "../engines/engine";
import { HttpRoutes } from "../http/routes";
import { isRuntimeMessage, type PrimaryToWorker, type WorkerToPrimary } from "../ipc";
import { StatsClient } from "./stats-client";
import { ADMIN_UI_DIR, enableAdminUi } from "../metrics/admin-ui";
import { WorkerMetrics } from "../metrics/worker-metrics";
import { installSocketLimits } from "../limits/install";

function send(message: WorkerToPrimary): void {
  process.send?.(message);
}

function loadEngine(name: Config["engine"]): EngineAdapter {
  // loaded on demand: the uWS module loads a native binary that the node engine must not need
  /* eslint-disable @typescript-eslint/no-require-imports */
  return name === "uws"
    ? (require("../engines/uws/server") as typeof import("../engines/uws/server")).uwsEngine
    : (require("../engines/node/server") as typeof import("../engines/node/server")).nodeEngine;
}

function socketIoOptions(
  config: Config,
  extra: Record<string, unknown> | undefined,
  adapter: ServerOptions["adapter"] = createRecoveringAdapter() as unknown as ServerOptions["adapter"],
): Partial<ServerOptions> {
  return {
    pingInterval: config.pingInterval,
    pingTimeout: config.pingTimeout,
    maxHttpBufferSize: config.maxHttpBufferSize,
    ...(config.corsOrigin ? { cors: { origin: config.corsOrigin } } : {}),
    adapter,
    ...(config.recoveryWindow > 0
      ? { connectionStateRecovery: { maxDisconnectionDuration: config.recoveryWindow, skipMiddlewares: true } }
      : {}),
    ...extra,
  };
}

/**
 * A worker: one engine (uWS or Node) with Socket.IO and the cluster adapter, the application's
 * features, the runtime's HTTP routes; drains on `rt:shutdown`, SIGTERM or SIGINT.
 */
export async function runWorker(config: Config): Promise<void> {
  const workerId = cluster.worker?.id ?? 0;
  const runtimeDir = process.env.RUNTIME_DIR ?? "";
  const log = createLogger(config.logLevel, { role: "worker", worker: workerId, engine: config.engine });
  const application = loadApplication(config);

  let engine: RunningEngine | undefined;
  let ready = false;
  let draining = false;
  const statsClient = new StatsClient(config.engine, () => engine);
  // metrics and admin UI (src/runtime/metrics/)
  const metrics = config.metrics
    ? new WorkerMetrics({ workerId, engine: config.engine, sessions: () => engine?.sessionCount() ?? 0 })
    : undefined;
  // ADAPTER=redis: the Redis Streams adapter and the shared state in Redis (src/runtime/adapter/redis.ts)
  let redis: RedisRuntime | undefined;
  if (config.adapter === "redis") {
    try {
      redis = await startRedis(config.redisUrl, log);
    } catch (err) {
      const reason = (err as Error).message;
      log.fatal({ event: "redis-failed" }, reason);
      send({ type: "rt:fatal", reason });
      setTimeout(() => process.exit(1), 100);
      return;
    }
  }
  const state: SharedState = redis?.state ?? new IpcSharedState();
  const routes = new HttpRoutes({
    publicDir: config.publicDir,
    isReady: () => ready && !draining,
    stats: () => statsClient.query(),
    metrics: metrics && (() => metrics.answer()),
    adminUiDir: config.adminUiPassword ? ADMIN_UI_DIR : undefined,
  });

  engine = loadEngine(config.engine).create({
    config,
    log,
    workerId,
    runtimeDir,
    routes,
    serverOptions: socketIoOptions(config, application.serverOptions, redis?.adapter),
  });
  const running = engine;
  // per-socket limits and fault containment, every namespace (src/runtime/limits/)
  installSocketLimits(running.io, config, log);
  metrics?.instrument(running.io);
  if (config.adminUiPassword) enableAdminUi(running.io, { password: config.adminUiPassword, workerId, state });
  const context: FeatureContext = {
    io: running.io,
    log: log.child({ app: application.name }),
    config,
    state,
    instance: `worker-${workerId}`,
    engineServer: (path, options = {}) => running.createEngineServer(path, options),
  };
  for (const feature of application.features) feature(context);

  const drain = async (reason: string) => {
    if (draining) return;
    draining = true;
    log.info({ event: "shutdown", reason, sessions: running.sessionCount() }, "worker draining");
    await running.drain(Date.now() + Math.max(100, config.shutdownTimeout - 1000));
    running.close();
    log.info({ event: "exit", sessionsLeft: running.sessionCount() }, "worker stopped");
    await redis?.close();
    // IPC is asynchronous: let what the sessions' last handlers sent (broadcasts, state) reach the primary
    await new Promise<void>((resolve) => {
      if (process.send) process.send({ type: "rt:bye" } satisfies WorkerToPrimary, undefined, {}, () => resolve());
      else resolve();
      setTimeout(resolve, 1000).unref();
    });
    process.exit(0);
  };
  process.on("message", (message: unknown) => {
    if (isRuntimeMessage<PrimaryToWorker>(message) && message.type === "rt:shutdown") void drain("primary");
  });
  process.on("SIGTERM", () => void drain("SIGTERM"));
  process.on("SIGINT", () => void drain("SIGINT"));

  try {
    await running.listen();
  } catch (err) {
    const reason = (err as Error).message;
    log.fatal({ event: "listen-failed" }, reason);
    send({ type: "rt:fatal", reason });
    setTimeout(() => process.exit(1), 100);
    return;
  }
  ready = true;
  log.info({ event: "listen", host: config.host, port: config.port, app: application.name }, "worker listening");
  send({ type: "rt:ready" });
}
