import createDebug from "debug";
import { collectDefaultMetrics, Counter, Gauge, register as globalRegistry, Registry } from "prom-client";
import type { MetricFamily, ProcessMetrics } from "./report";

const debug = createDebug("runtime:metrics:registry");

/** Which process a registry describes. */
export interface ProcessIdentity {
  /** `primary` or `worker`. */
  role: "primary" | "worker";
  /**
   * Value of the `worker` label on every series of this process: the cluster worker id, or
   * `primary`. Unique during the primary's life (a replacement worker gets a new id).
   */
  worker: string;
  /** Engine the cluster runs (`uws` or `node`). */
  engine: string;
}

/**
 * The metrics of one process (the primary or a worker): prom-client's default process metrics
 * (`process_resident_memory_bytes`, `nodejs_eventloop_lag_seconds`, heap, GC, handles, …),
 * `runtime_process_info`, and whatever the runtime registers on {@link registry}.
 *
 * A private registry, so that an application may use prom-client's default registry freely: its
 * metrics are added to this process's {@link snapshot} (when their names do not clash with ours).
 */
export class ProcessRegistry {
  readonly registry = new Registry();

  constructor(readonly identity: ProcessIdentity) {
    collectDefaultMetrics({ register: this.registry });
    const info = new Gauge({
      name: "runtime_process_info",
      help: "Always 1: the role, process id and engine of each process (labels)",
      labelNames: ["role", "pid", "engine"],
      registers: [this.registry],
    });
    info.set({ role: identity.role, pid: String(process.pid), engine: identity.engine }, 1);
  }

  /**
   * Every metric of this process as plain data, each value labelled `worker=<identity.worker>`,
   * ready to cross the IPC channel and be merged with the other processes' (see `merge.ts`).
   */
  async snapshot(): Promise<ProcessMetrics> {
    const own = (await this.registry.getMetricsAsJSON()) as unknown as MetricFamily[];
    const names = new Set(own.map((family) => family.name));
    let application: MetricFamily[] = [];
    try {
      application = ((await globalRegistry.getMetricsAsJSON()) as unknown as MetricFamily[]).filter((family) => {
        if (!names.has(family.name)) return true;
        debug("application metric %s clashes with a runtime metric: left out", family.name);
        return false;
      });
    } catch (err) {
      debug("application metrics failed: %s", (err as Error).message);
    }
    const worker = this.identity.worker;
    return [...own, ...application].map((family) => ({
      name: family.name,
      help: family.help,
      type: family.type,
      aggregator: family.aggregator,
      values: family.values.map((value) => ({ ...value, labels: { worker, ...value.labels } })),
    }));
  }
}

/**
 * A counter whose value is read from a plain number at scrape time: the code that counts only
 * increments a field, nothing touches prom-client on the hot path.
 */
export function scrapedCounter(registry: Registry, name: string, help: string, read: () => number): Counter {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
