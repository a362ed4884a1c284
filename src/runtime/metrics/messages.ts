/** One metric family as prom-client's `Registry.getMetricsAsJSON()` gives it (plain data). */
export interface MetricFamily {
  name: string;
  help: string;
  type: string;
  /** How prom-client would merge the family across processes (`sum`, `first`, `omit`, …). */
  aggregator: string;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

/**
 * One process's metrics, every value already labelled with the process's `worker` label.
 * Plain data: it crosses the IPC channel.
 */
export type ProcessMetrics = MetricFamily[];

/**
 * The metrics exchange between workers and the primary (`GET /metrics`). Like the runtime's other
 * messages (`../ipc.ts`), every `type` starts with `rt:`.
 */
export type MetricsWorkerToPrimary =
  /** A worker asks for the metrics of every process (to answer `GET /metrics`). */
  | { type: "rt:metrics-query"; id: number }
  /** A worker's answer to `rt:metrics-collect`. */
  | { type: "rt:metrics-report"; id: number; metrics: ProcessMetrics };

export type MetricsPrimaryToWorker =
  /** Report your metrics with this id. */
  | { type: "rt:metrics-collect"; id: number }
  /** Answer to `rt:metrics-query`: the Prometheus text of every process, or why there is none. */
  | { type: "rt:metrics-result"; id: number; text?: string; error?: string };
