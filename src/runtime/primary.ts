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
import { retireHandedOverWorkers, takeHandover, writeHandover } from "./supervision/handover";
import { Supervisor } from "./supervision/primary";

/** The signal that replaces the primary without a gap (for a process manager other than pm2). */
export const HANDOVER_SIGNAL = "SIGUSR2";
/**
 * Under pm2 (it sets `pm_id`), SIGINT hands over too: pm2 stops a fork-mode process with SIGINT
 * (it has no per-app stop signal) before it starts the next one, on `pm2 reload` and `restart`.
 */
const handOverOnSigint = process.env.pm_id !== undefined;

/**
 * The primary: picks the engine, runs each subsystem's primary half (backend, admission, metrics,
 * the engine's), forks and supervises the workers, and drains everything on SIGTERM/SIGINT. On
 * {@link HANDOVER_SIGNAL}, and on SIGINT under pm2 (`pm2 reload` stops a fork-mode process before it
 * starts the next one), it hands over instead: its workers close their sessions and keep the port, it leaves its
 * recovery log and their PIDs for the next primary (`./supervision/handover.ts`) and exits; the
 * next primary restores the log, and stops those workers once its own listen. It never serves a
 * client request itself.
 */
export async function runPrimary(config: Config): Promise<void> {
  const log = createLogger(config, { role: "primary" });
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
  // the previous primary's workers and state, when it handed over (only engines whose workers listen themselves can)
  const handedOver = takeHandover(config.port, log);
  if (handedOver) {
    log.info({ event: "handover-taken", workers: handedOver.workers.length }, `taking over from the previous primary: ${handedOver.workers.length} workers keep the port until ours listen`);
  }
  /** The previous generation's workers still serve the port: ours start held (no new sessions). */
  const heldBack = handedOver !== undefined && handedOver.workers.length > 0;

  let enginePrimary: EnginePrimary | undefined;
  /** With a handover: whether the previous generation is gone (our workers take new sessions). */
  let serving = false;
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
      env: planEnv({ engine, runtimeDir, held: heldBack, config }),
      log,
      onAllReady: () => {
        log.info({ event: "listen", host: config.host, port: config.port, engine }, "all workers listening");
        tellProcessManagerReady(); // pm2 wait_ready
        if (heldBack) {
          void retireHandedOverWorkers(handedOver!, config.shutdownTimeout, log).then(() => {
            // no request can reach the previous generation any more: sessions may open here
            serving = true;
            for (const worker of supervisor.readyWorkers()) channel.send(worker, "worker:serve", {});
          });
        }
      },
      // a worker that starts after the handover is done (a restart) is told at once
      onWorkerReady: (worker) => {
        if (heldBack && serving) channel.send(worker, "worker:serve", {});
      },
      onFatal: (fatal) => {
        log.fatal({ event: "fatal" }, fatal);
        void stop(1, fatal);
      },
    },
    channel,
  );

  // the subsystems' primary halves
  const backend = backendOf(config).primary({ config, channel, log, handedOver: handedOver?.backend });
  startAdmissionPrimary(config, channel);
  startMetricsPrimary({ config, channel, supervisor, engine, log });

  const handOver = async () => {
    if (stopping) return;
    stopping = true;
    enginePrimary?.close();
    let workers: number[] = [];
    if (engine === "uws") {
      log.info({ event: "handover" }, "handing over to the next primary: the workers close their sessions and keep the port");
      workers = await supervisor.handOver(config.shutdownTimeout);
    } else {
      // the Node engine's port is this process's: it closes with it, so the workers drain as on a stop
      // and only the state (the recovery log) goes to the next primary
      log.info({ event: "handover" }, "handing over to the next primary: the workers drain (the Node engine's port closes with this process); the sessions are kept");
      supervisor.stop();
      await supervisor.waitForExit(config.shutdownTimeout);
      rmSync(runtimeDir, { recursive: true, force: true });
    }
    try {
      const file = writeHandover({ port: config.port, entry: entry ?? "", runtimeDir, workers, backend: backend.handOver() });
      log.info({ event: "handed-over", workers: workers.length, file }, `handed over: ${workers.length} workers wait for the next primary`);
    } catch (err) {
      log.error({ event: "handover-failed" }, `cannot write the handover: ${(err as Error).message}; the workers stop`);
      for (const pid of workers) process.kill(pid, "SIGTERM");
    }
    log.info({ event: "exit", code: 0 }, "stopped");
    process.exit(0);
  };
  process.on(HANDOVER_SIGNAL, () => void handOver());
  process.on("SIGTERM", () => void stop(0, "SIGTERM"));
  process.on("SIGINT", () => void (handOverOnSigint ? handOver() : stop(0, "SIGINT")));
  process.on("SIGHUP", () => void supervisor.rollingRestart(config.shutdownTimeout));

  try {
    enginePrimary = await loadEngine(engine).primary({ config, channel, log, readyWorkers: () => supervisor.readyWorkers() });
  } catch (err) {
    log.fatal({ event: "listen-failed" }, `cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`);
    rmSync(runtimeDir, { recursive: true, force: true });
    process.exit(1);
  }
  supervisor.start();
}
