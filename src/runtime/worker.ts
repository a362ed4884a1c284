import cluster from "node:cluster";
import type { ServerOptions } from "socket.io";
import { loadApplication } from "../app/registry";
import type { FeatureContext } from "../app/feature";
import type { Config } from "../config/env";
import { readPlan } from "../config/plan";
import { createLogger } from "../log/logger";
import { Admission } from "./admission/worker";
import { backendOf } from "./backends/backend";
import { fillSessionStart } from "./backends/rooms";
import { loadEngine } from "./engines/engine";
import { HttpRoutes } from "./http/routes";
import { WorkerChannel } from "./ipc/worker";
import { installSocketLimits } from "./limits/worker";
import { WorkerMetrics } from "./metrics/worker";
import { SocketPipeline } from "./sockets/pipeline";
import { WorkerLifecycle } from "./supervision/worker";

/**
 * A worker: the backend (adapter, shared state), one engine (uWS or Node) with Socket.IO, the
 * socket pipeline with the limits, the metrics and the engine's hooks, the runtime's HTTP routes,
 * then the application's features; drains on `worker:shutdown`, SIGTERM or SIGINT.
 */
export async function runWorker(): Promise<void> {
  const plan = readPlan();
  const config: Config = { ...plan.config, engine: plan.engine };
  const workerId = cluster.worker?.id ?? 0;
  const log = createLogger(config, { role: "worker", worker: workerId, engine: config.engine });
  const channel = new WorkerChannel();
  const application = await loadApplication(config);

  let sessions = () => 0;
  // until the engine exists, draining has nothing to drain
  let drain = async (_reason: string): Promise<void> => undefined;
  let stopAccepting = (): void => undefined;
  let handOver = async (): Promise<void> => undefined;
  let held = plan.held === true;
  let serve = (): void => undefined;
  const lifecycle = new WorkerLifecycle(
    channel,
    log,
    {
      drain: (reason) => drain(reason),
      stopAccepting: () => stopAccepting(),
      handOver: () => handOver(),
      serve: () => {
        held = false;
        serve();
      },
    },
    config.shutdownTimeout,
  );
  const metrics = new WorkerMetrics({ channel, workerId, engine: config.engine, sessions: () => sessions(), metrics: config.metrics });
  let backend;
  try {
    backend = await backendOf(config).worker({ config, channel, log });
  } catch (err) {
    return lifecycle.fatal("redis-failed", (err as Error).message);
  }
  // the clients' port: health for load balancers, the official client, static files (the admin
  // routes are the primary's, on ADMIN_PORT)
  const routes = new HttpRoutes({ publicDir: config.publicDir, isReady: () => ready && !held && !lifecycle.isDraining });
  const engine = loadEngine(config.engine).worker({
    config,
    log,
    workerId,
    runtimeDir: plan.runtimeDir,
    channel,
    routes,
    admission: new Admission(config, channel, log),
    serverOptions: socketIoOptions(config, application.serverOptions, backend.adapter),
    held,
  });
  sessions = () => engine.sessionCount();
  stopAccepting = () => engine.stopAccepting();
  serve = () => {
    log.info({ event: "serve" }, "the previous generation is gone: taking new sessions");
    engine.serve();
  };
  handOver = async () => {
    log.info({ event: "handover", sessions: engine.sessionCount() }, "handing the sessions over to the next primary's workers");
    await engine.handOver?.(Date.now() + Math.max(100, config.shutdownTimeout - 1000));
  };

  // the socket pipeline: limits first (they refuse before anything counts), then metrics, then the engine's hooks
  const pipeline = new SocketPipeline(engine.io);
  installSocketLimits(pipeline, engine.io, config, log);
  metrics.instrument(engine.io, pipeline);
  engine.useHooks(pipeline);
  if (config.recoveryWindow > 0) pipeline.add("handshake", fillSessionStart);
  // what led to a packet a client gets (its session's rooms, a handler's broadcasts) leaves for
  // the primary before it: a CONNECT or an ack promises that it is recoverable
  pipeline.add("packet", () => channel.flush());
  // the admin UI (and bcryptjs) is loaded only when it is on
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (config.adminUiPassword) (require("./metrics/admin-ui") as typeof import("./metrics/admin-ui")).enableAdminUi(engine.io, { password: config.adminUiPassword, workerId, state: backend.state });

  const context: FeatureContext = {
    io: engine.io,
    log: log.child({ app: application.name }),
    config,
    state: backend.state,
    instance: `worker-${workerId}`,
    engineServer: (path, options = {}) => engine.createEngineServer(path, options),
  };
  for (const feature of application.features) feature(context);

  let ready = false;
  drain = async (reason: string) => {
    log.info({ event: "shutdown", reason, sessions: engine.sessionCount() }, "worker draining");
    await engine.drain(Date.now() + Math.max(100, config.shutdownTimeout - 1000));
    engine.close();
    log.info({ event: "exit", sessionsLeft: engine.sessionCount() }, "worker stopped");
    await backend.close();
  };

  try {
    await engine.listen();
  } catch (err) {
    return lifecycle.fatal("listen-failed", (err as Error).message);
  }
  ready = true;
  log.info({ event: "listen", host: config.host, port: config.port, app: application.name }, "worker listening");
  lifecycle.ready();
}

/** The Socket.IO server's options: the runtime's settings, the backend's adapter, then the application's own. */
function socketIoOptions(config: Config, application: Record<string, unknown> | undefined, adapter: ServerOptions["adapter"]): Partial<ServerOptions> {
  return {
    pingInterval: config.pingInterval,
    pingTimeout: config.pingTimeout,
    maxHttpBufferSize: config.maxHttpBufferSize,
    ...(config.corsOrigin ? { cors: { origin: config.corsOrigin } } : {}),
    adapter,
    ...(config.recoveryWindow > 0 ? { connectionStateRecovery: { maxDisconnectionDuration: config.recoveryWindow, skipMiddlewares: true } } : {}),
    ...application,
  };
}
