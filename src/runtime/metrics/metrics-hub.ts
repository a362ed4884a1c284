import createDebug from "debug";
import cluster, { type Worker } from "node:cluster";
import { Gauge } from "prom-client";
import { isRuntimeMessage } from "../ipc";
import type { MetricsPrimaryToWorker, MetricsWorkerToPrimary, ProcessMetrics } from "./messages";
import { renderCluster } from "./merge";
import type { ProcessRegistry } from "./process-registry";

const debug = createDebug("runtime:metrics:hub");

function send(worker: Worker, message: MetricsPrimaryToWorker): void {
  if (worker.isConnected()) worker.send(message);
}

/**
 * The primary's side of `GET /metrics`: answers a worker's `rt:metrics-query` with the
 * Prometheus text of the whole cluster. It asks every live worker for its metrics
 * (`rt:metrics-collect`), waits for all of them or `timeoutMs`, adds its own and merges them.
 * A worker that does not answer in time is left out and counted in
 * `runtime_metrics_missing_workers`.
 */
export function serveClusterMetrics(workers: () => Worker[], primary: ProcessRegistry, timeoutMs = 2000): void {
  const missing = new Gauge({
    name: "runtime_metrics_missing_workers",
    help: "Workers that did not report in time for the latest scrape (their series are absent from it)",
    registers: [primary.registry],
  });
  let nextId = 1;
  const collecting = new Map<number, (workerId: number, metrics: ProcessMetrics) => void>();

  const collect = (): Promise<ProcessMetrics[]> => {
    const id = nextId++;
    const targets = workers().filter((worker) => worker.isConnected());
    const reports: Array<{ workerId: number; metrics: ProcessMetrics }> = [];
    return new Promise((resolve) => {
      const done = () => {
        collecting.delete(id);
        clearTimeout(timer);
        missing.set(targets.length - reports.length);
        if (reports.length < targets.length) debug("%d of %d workers reported", reports.length, targets.length);
        resolve(reports.sort((a, b) => a.workerId - b.workerId).map((report) => report.metrics));
      };
      const timer = setTimeout(done, timeoutMs);
      collecting.set(id, (workerId, metrics) => {
        reports.push({ workerId, metrics });
        if (reports.length === targets.length) done();
      });
      for (const worker of targets) send(worker, { type: "rt:metrics-collect", id });
      if (targets.length === 0) done();
    });
  };

  cluster.on("message", (from: Worker, message: unknown) => {
    if (!isRuntimeMessage<MetricsWorkerToPrimary>(message)) return;
    if (message.type === "rt:metrics-report") {
      collecting.get(message.id)?.(from.id, message.metrics);
      return;
    }
    if (message.type !== "rt:metrics-query") return;
    collect()
      .then(async (reports) => renderCluster([await primary.snapshot(), ...reports]))
      .then(
        (text) => send(from, { type: "rt:metrics-result", id: message.id, text }),
        (err: unknown) => {
          debug("cannot render metrics: %s", (err as Error).message);
          send(from, { type: "rt:metrics-result", id: message.id, error: (err as Error).message });
        },
      );
  });
}
