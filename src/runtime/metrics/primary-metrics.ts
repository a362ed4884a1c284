import { Counter, Gauge } from "prom-client";
import { ProcessRegistry } from "./process-registry";

/** What the primary's metrics read from its supervisor. */
export interface SupervisedWorkers {
  /** Workers replaced after a crash since the primary started. */
  readonly restarts: number;
  /** Live worker processes (starting, listening or draining). */
  allWorkers(): unknown[];
  /** Workers that listen and are not being retired. */
  readyWorkers(): unknown[];
}

/**
 * The primary's own metrics (label `worker="primary"`): its process metrics, worker restarts and
 * how many workers run. It serves no client, so it has no Socket.IO metrics.
 */
export function createPrimaryMetrics(engine: string, supervisor: SupervisedWorkers): ProcessRegistry {
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
