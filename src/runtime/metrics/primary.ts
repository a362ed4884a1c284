import createDebug from "debug";
import type { Worker } from "node:cluster";
import { AggregatorRegistry, Counter, Gauge } from "prom-client";
import type { PrimaryChannel } from "../ipc/primary";
import { ProcessRegistry } from "./process-registry";
import type { ClusterStats, MetricFamily, ProcessMetrics, ProcessReport } from "./report";

const debug = createDebug("runtime:metrics:primary");

/** Longest the primary waits for the workers' reports of one collection (ms); late ones are left out. */
const COLLECT_TIMEOUT_MS = 2000;

/** What the primary's metrics read from its supervisor. */
export interface SupervisedWorkers {
  /** Workers replaced after a crash since the primary started. */
  readonly restarts: number;
  /** Live worker processes (starting, listening or draining). */
  allWorkers(): Worker[];
  /** Workers that listen and are not being retired. */
  readyWorkers(): Worker[];
}

export interface MetricsPrimaryOptions {
  channel: PrimaryChannel;
  supervisor: SupervisedWorkers;
  /** The engine the cluster runs (label of `runtime_process_info`). */
  engine: string;
  /** `METRICS`: with `false`, `/metrics` has nothing to render (`/stats` still works). */
  metrics: boolean;
}

/**
 * The primary's half of `/stats` and `/metrics`: one collection. A worker asks for the cluster's
 * snapshot (`cluster:snapshot`); the primary collects every live worker's report
 * (`metrics:collect`), waits for all of them or {@link COLLECT_TIMEOUT_MS}, and answers either the
 * stats (JSON) or the Prometheus text of every process, its own metrics included. A worker that
 * does not answer in time is left out and counted in `runtime_metrics_missing_workers`.
 */
export function startMetricsPrimary({ channel, supervisor, engine, metrics }: MetricsPrimaryOptions): void {
  const own = metrics ? primaryRegistry(engine, supervisor) : undefined;
  const missing =
    own &&
    new Gauge({
      name: "runtime_metrics_missing_workers",
      help: "Workers that did not report in time for the latest scrape (their series are absent from it)",
      registers: [own.registry],
    });

  const collect = async (): Promise<ProcessReport[]> => {
    const targets = supervisor.allWorkers().filter((worker) => worker.isConnected());
    const reports = await Promise.all(
      targets.map((worker) => channel.request(worker, "metrics:collect", {}, { timeoutMs: COLLECT_TIMEOUT_MS }).catch(() => undefined)),
    );
    const answered = reports.filter((report): report is ProcessReport => report !== undefined);
    missing?.set(targets.length - answered.length);
    if (answered.length < targets.length) debug("%d of %d workers reported", answered.length, targets.length);
    return answered.sort((a, b) => a.stats.workerId - b.stats.workerId);
  };

  channel.handle("cluster:snapshot", async (_from, { view }) => {
    const reports = await collect();
    if (view === "stats") {
      const stats: ClusterStats = { primaryPid: process.pid, workerRestarts: supervisor.restarts, workers: reports.map((r) => r.stats) };
      return { stats };
    }
    if (!own) return { error: "METRICS=off" };
    try {
      const processes = [await own.snapshot(), ...reports.flatMap((r) => (r.metrics ? [r.metrics] : []))];
      return { text: await renderCluster(processes) };
    } catch (err) {
      debug("cannot render metrics: %s", (err as Error).message);
      return { error: (err as Error).message };
    }
  });
}

/**
 * The primary's own metrics (label `worker="primary"`): its process metrics, worker restarts and
 * how many workers run. It serves no client, so it has no Socket.IO metrics.
 */
function primaryRegistry(engine: string, supervisor: SupervisedWorkers): ProcessRegistry {
  const metrics = new ProcessRegistry({ role: "primary", worker: "primary", engine });
  const registry = metrics.registry;
  new Counter({
    name: "runtime_worker_restarts_total",
    help: "Workers replaced after they died (crash, kill); rolling restarts are not counted",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(supervisor.restarts);
    },
  });
  new Gauge({
    name: "runtime_workers",
    help: "Live worker processes (starting, listening or draining)",
    registers: [registry],
    collect() {
      this.set(supervisor.allWorkers().length);
    },
  });
  new Gauge({
    name: "runtime_workers_ready",
    help: "Workers listening and taking connections",
    registers: [registry],
    collect() {
      this.set(supervisor.readyWorkers().length);
    },
  });
  return metrics;
}

/**
 * Merges the metrics of several processes into one Prometheus text exposition: one `# HELP` and
 * `# TYPE` per family, then the series of every process. Every series already carries its
 * process's `worker` label, so no two processes' series collide and nothing is summed away
 * (prom-client's own per-family aggregators, which would average or drop some process metrics,
 * are replaced by `sum`, which keeps distinct label sets apart).
 */
async function renderCluster(processes: ProcessMetrics[]): Promise<string> {
  const families = processes.map((metrics) =>
    metrics.map((family): MetricFamily => ({ ...family, aggregator: "sum" })),
  );
  const registry = AggregatorRegistry.aggregate(families as never);
  // prom-client writes NaN as "Nan" (e.g. event-loop delay percentiles of a process that has not
  // been sampled yet); the exposition format spells it "NaN"
  return (await registry.metrics()).replace(/ Nan$/gm, " NaN");
}
