import { setupPrimary as setupClusterAdapter } from "@socket.io/cluster-adapter";
import { mkdtempSync, rmSync } from "node:fs";
import cluster from "node:cluster";
import os from "node:os";
import path from "node:path";
import type { Config } from "../../config/env";
import { createLogger } from "../../log/logger";
import { PrimaryStateStore } from "../../state/ipc/primary-store";
import { PacketLog } from "../adapter/packet-log";
import { addressLimitsEnabled, serveAddressLimits } from "../admission/primary-ledger";
import { startConnectionRouter, type ConnectionRouter } from "../engines/node/primary-side";
import { serveClusterStats } from "./stats-hub";
import { serveClusterMetrics } from "../metrics/metrics-hub";
import { createPrimaryMetrics } from "../metrics/primary-metrics";
import { Supervisor } from "./supervisor";
import { uwsUnavailableReason } from "./uws-check";

/**
 * The primary: picks the engine, forks and supervises the workers, relays the cluster adapter's
 * messages, routes connections for the Node engine, and drains everything on SIGTERM/SIGINT.
 * It never serves a client request itself.
 */
export async function runPrimary(config: Config): Promise<void> {
  const log = createLogger(config.logLevel, { role: "primary" });
  let engine = config.engine;
  if (engine === "uws") {
    const reason = uwsUnavailableReason();
    if (reason) {
      log.warn({ event: "engine-fallback", reason }, `uWebSockets.js cannot load (${reason}); using ENGINE=node`);
      engine = "node";
    }
  }
  const runtimeDir = mkdtempSync(path.join(os.tmpdir(), "sio-runtime-"));
  log.info(
    { event: "start", engine, workers: config.workers, port: config.port, host: config.host, app: config.app },
    "starting",
  );

  // Buffers in broadcasts and adapter messages need the structured-clone serialization.
  // Workers run the entry script itself: under pm2, process.argv[1] (node:cluster's default) is
  // pm2's ProcessContainerFork.js wrapper, which would load pm2's APM module into every worker.
  const entry = require.main?.filename;
  cluster.setupPrimary({ serialization: "advanced", ...(entry ? { exec: entry } : {}) });
  // ADAPTER=redis: the workers use Redis for all of this; the primary holds nothing
  if (config.adapter === "cluster") {
    setupClusterAdapter();
    new PrimaryStateStore().listen();
    if (config.recoveryWindow > 0) {
      new PacketLog({ maxDisconnectionDuration: config.recoveryWindow, maxPackets: config.recoveryMaxPackets }).listen();
    }
  }

  // per-address session cap and rate (src/runtime/admission/): counted here for the whole machine,
  // with either adapter (with ADAPTER=redis the counts are per machine)
  if (addressLimitsEnabled(config)) serveAddressLimits(config);

  let router: ConnectionRouter | undefined;
  let stopping = false;
  const stop = async (code: number, reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ event: "shutdown", reason }, "shutting down");
    supervisor.stop();
    router?.close();
    for (const worker of supervisor.allWorkers()) {
      if (worker.isConnected()) worker.send({ type: "rt:shutdown" });
    }
    await supervisor.waitForExit(config.shutdownTimeout);
    rmSync(runtimeDir, { recursive: true, force: true });
    log.info({ event: "exit", code }, "stopped");
    process.exit(code);
  };

  const supervisor = new Supervisor({
    count: config.workers,
    env: { ENGINE: engine, RUNTIME_DIR: runtimeDir },
    log,
    onAllReady: () => {
      log.info({ event: "listen", host: config.host, port: config.port, engine }, "all workers listening");
      process.send?.("ready"); // pm2 wait_ready
    },
    onFatal: (reason) => {
      log.fatal({ event: "fatal" }, reason);
      void stop(1, reason);
    },
  });
  serveClusterStats(
    () => supervisor.allWorkers(),
    () => ({ workerRestarts: supervisor.restarts }),
  );
  // GET /metrics (src/runtime/metrics/): the primary collects every worker's metrics and adds its own
  if (config.metrics) serveClusterMetrics(() => supervisor.allWorkers(), createPrimaryMetrics(engine, supervisor));

  process.on("SIGTERM", () => void stop(0, "SIGTERM"));
  process.on("SIGINT", () => void stop(0, "SIGINT"));
  process.on("SIGHUP", () => void supervisor.rollingRestart(config.shutdownTimeout));

  if (engine === "node") {
    try {
      router = await startConnectionRouter({
        host: config.host,
        port: config.port,
        workers: () => supervisor.readyWorkers(),
        // TLS: the primary cannot read the encrypted request; it routes by client address
        ...(config.sslKeyFile ? { addressSlots: config.workers } : {}),
      });
    } catch (err) {
      const reason = `cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`;
      log.fatal({ event: "listen-failed" }, reason);
      rmSync(runtimeDir, { recursive: true, force: true });
      process.exit(1);
    }
  }
  supervisor.start();
}
