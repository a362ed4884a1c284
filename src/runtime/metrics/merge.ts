import { AggregatorRegistry } from "prom-client";
import type { MetricFamily, ProcessMetrics } from "./report";

/** `Content-Type` of {@link renderCluster}'s text (Prometheus exposition format 0.0.4). */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Merges the metrics of several processes into one Prometheus text exposition: one `# HELP` and
 * `# TYPE` per family, then the series of every process. Every series already carries its
 * process's `worker` label, so no two processes' series collide and nothing is summed away
 * (prom-client's own per-family aggregators, which would average or drop some process metrics,
 * are replaced by `sum`, which keeps distinct label sets apart).
 */
export async function renderCluster(processes: ProcessMetrics[]): Promise<string> {
  const families = processes.map((metrics) =>
    metrics.map((family): MetricFamily => ({ ...family, aggregator: "sum" })),
  );
  const registry = AggregatorRegistry.aggregate(families as never);
  // prom-client writes NaN as "Nan" (e.g. event-loop delay percentiles of a process that has not
  // been sampled yet); the exposition format spells it "NaN"
  return (await registry.metrics()).replace(/ Nan$/gm, " NaN");
}
