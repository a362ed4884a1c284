import createDebug from "debug";
import type { Worker } from "node:cluster";
import type { Config } from "../../config/env";
import type { Logger } from "../../log/logger";
import { HttpRoutes, type HttpAnswer } from "../http/routes";
import { listenAdmin } from "../engines/node/serve";
import { ADMIN_UI_DIR } from "./admin-ui";
import { AggregatorRegistry, Counter, Gauge } from "prom-client";
import type { PrimaryChannel } from "../ipc/primary";
import { ProcessRegistry } from "./process-registry";
import { PROMETHEUS_CONTENT_TYPE, type ClusterStats, type MetricFamily, type ProcessMetrics, type ProcessReport } from "./report";

const debug = createDebug("runtime:metrics:primary");

/** Longest the primary waits for the workers' reports of one collection (ms); late ones are left out. */
const COLLECT_TIMEOUT_MS = 2000;
/** Least time between two collections (ms): scraping faster costs the workers nothing more. */
const COLLECTION_INTERVAL_MS = 1000;

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
  config: Pick<Config, "metrics" | "adminPort" | "adminHost" | "adminUiPassword">;
  channel: PrimaryChannel;
  supervisor: SupervisedWorkers;
  /** The engine the cluster runs (label of `runtime_process_info`). */
  engine: string;
  log: Logger;
}

const JSON_HEADERS = { "content-type": "application/json", "cache-control": "no-store" };

/**
 * The primary's half of `/stats` and `/metrics`, served on the admin listener (`ADMIN_PORT`,
 * `ADMIN_HOST`: this machine only by default), never on the clients' port. One collection for
 * both: the primary asks every live worker for its report (`metrics:collect`), waits for all of
 * them or {@link COLLECT_TIMEOUT_MS}, and answers the stats (JSON) or the Prometheus text of
 * every process, its own included. A worker that does not answer in time is left out and counted
 * in `runtime_metrics_missing_workers`. Scrapes are cheap whatever their rate: collections start
 * {@link COLLECTION_INTERVAL_MS} apart at least, and every request waiting for the next one shares it.
 */
export function startMetricsPrimary({ config, channel, supervisor, engine, log }: MetricsPrimaryOptions): void {
  const own = config.metrics ? primaryRegistry(engine, supervisor) : undefined;
  const registers = own ? [own.registry] : [];
  const missing = new Gauge({
    name: "runtime_metrics_missing_workers",
    help: "Workers that did not report in time for the latest scrape (their series are absent from it)",
    registers,
  });
  const collections = new Counter({
    name: "runtime_metrics_collections_total",
    help: "Collections of the workers' reports for /metrics and /stats (at most one a second, shared by the scrapes waiting for it)",
    registers,
  });
  // one collection a second at most; every answer still reflects the cluster after its request
  // arrived: a request joins a collection not started yet, or schedules the next one
  let next: { startAt: number; reports: Promise<ProcessReport[]> } | undefined;
  let lastStart = -Infinity;
  const collect = (): Promise<ProcessReport[]> => {
    const arrived = Date.now();
    if (next && next.startAt >= arrived) return next.reports;
    const startAt = Math.max(arrived, lastStart + COLLECTION_INTERVAL_MS);
    lastStart = startAt;
    const reports = new Promise<void>((resolve) => setTimeout(resolve, startAt - arrived)).then(() => {
      collections.inc();
      return collectNow();
    });
    next = { startAt, reports };
    return reports;
  };
  const collectNow = async (): Promise<ProcessReport[]> => {
    const targets = supervisor.allWorkers().filter((worker) => worker.isConnected());
    const reports = await Promise.all(
      targets.map((worker) => channel.request(worker, "metrics:collect", {}, { timeoutMs: COLLECT_TIMEOUT_MS }).catch(() => undefined)),
    );
    const answered = reports.filter((report): report is ProcessReport => report !== undefined);
    missing.set(targets.length - answered.length);
    if (answered.length < targets.length) debug("%d of %d workers reported", answered.length, targets.length);
    return answered.sort((a, b) => a.stats.workerId - b.stats.workerId);
  };

  const stats = async (): Promise<HttpAnswer> => {
    const body: ClusterStats = { primaryPid: process.pid, workerRestarts: supervisor.restarts, workers: (await collect()).map((r) => r.stats) };
    return { status: 200, headers: JSON_HEADERS, body: JSON.stringify(body) };
  };
  const metrics = async (): Promise<HttpAnswer> => {
    try {
      const processes = [await own!.snapshot(), ...(await collect()).flatMap((r) => (r.metrics ? [r.metrics] : []))];
      return { status: 200, headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" }, body: await renderCluster(processes) };
    } catch (err) {
      debug("cannot render metrics: %s", (err as Error).message);
      return { status: 503, headers: { "content-type": "text/plain; charset=utf-8" }, body: "metrics unavailable\n" };
    }
  };
  if (config.adminPort === 0) return;
  const routes = new HttpRoutes({ stats, metrics: own ? metrics : undefined, adminUiDir: config.adminUiPassword ? ADMIN_UI_DIR : undefined });
  listenAdmin(routes, config.adminHost, config.adminPort, log);
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
