import { mkdtempSync, rmSync } from "node:fs";
import cluster from "node:cluster";
import os from "node:os";
import path from "node:path";
import type { Config } from "../config/env";
import { planEnv } from "../config/plan";
import { createLogger } from "../log/logger";
import { startAdmissionPrimary } from "./admission/primary";
import { backendOf } from "./backends/backend";
import { loadEngine, selectEngine, type EnginePrimary } from "./engines/engine";
import { PrimaryChannel, tellProcessManagerReady } from "./ipc/primary";
import { startMetricsPrimary } from "./metrics/primary";
import { Supervisor } from "./supervision/primary";

/**
 * The primary: picks the engine, runs each subsystem's primary half (backend, admission, metrics,
 * the engine's), forks and supervises the workers, and drains everything on SIGTERM/SIGINT. It
 * never serves a client request itself.
 */
export async function runPrimary(config: Config): Promise<void> {
  const log = createLogger(config.logLevel, { role: "primary" });
  const { engine, uws, fallback, summary } = selectEngine(config.engine);
  if (fallback) {
    log.warn(
      {
        event: "engine-fallback",
        reason: fallback.reason,
        remedy: fallback.remedy,
        ...(fallback.package ? { uws: { package: fallback.package, version: fallback.version } } : {}),
      },
      `uWebSockets.js cannot load (${fallback.reason}); using ENGINE=node. For the uWS engine: ${fallback.remedy}`,
    );
  }
  const runtimeDir = mkdtempSync(path.join(os.tmpdir(), "sio-runtime-"));
  log.info(
    { event: "start", engine, ...(uws ? { uws } : {}), node: process.version, workers: config.workers, port: config.port, host: config.host, app: config.app },
    `starting: ${summary}`,
  );

  // Buffers in broadcasts and adapter messages need the structured-clone serialization.
  // Workers run the entry script itself: under pm2, process.argv[1] (node:cluster's default) is
  // pm2's ProcessContainerFork.js wrapper, which would load pm2's APM module into every worker.
  const entry = require.main?.filename;
  cluster.setupPrimary({ serialization: "advanced", ...(entry ? { exec: entry } : {}) });
  const channel = new PrimaryChannel();

  let enginePrimary: EnginePrimary | undefined;
  let stopping = false;
  const stop = async (code: number, why: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: "shutdown", reason: why }, "shutting down");
    enginePrimary?.close();
    supervisor.stop();
    await supervisor.waitForExit(config.shutdownTimeout);
    rmSync(runtimeDir, { recursive: true, force: true });
    log.info({ event: "exit", code }, "stopped");
    process.exit(code);
  };
  const supervisor = new Supervisor(
    {
      count: config.workers,
      env: planEnv({ engine, runtimeDir }),
      log,
      onAllReady: () => {
        log.info({ event: "listen", host: config.host, port: config.port, engine }, "all workers listening");
        tellProcessManagerReady(); // pm2 wait_ready
      },
      onFatal: (fatal) => {
        log.fatal({ event: "fatal" }, fatal);
        void stop(1, fatal);
      },
    },
    channel,
  );

  // the subsystems' primary halves
  backendOf(config).primary({ config, channel, log });
  startAdmissionPrimary(config, channel);
  startMetricsPrimary({ config, channel, supervisor, engine, log });

  process.on("SIGTERM", () => void stop(0, "SIGTERM"));
  process.on("SIGINT", () => void stop(0, "SIGINT"));
  process.on("SIGHUP", () => void supervisor.rollingRestart(config.shutdownTimeout));

  try {
    enginePrimary = await loadEngine(engine).primary({ config, channel, readyWorkers: () => supervisor.readyWorkers() });
  } catch (err) {
    log.fatal({ event: "listen-failed" }, `cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`);
    rmSync(runtimeDir, { recursive: true, force: true });
    process.exit(1);
  }
  supervisor.start();
}
