import { runBroadcast, type BroadcastData } from "./broadcast";
import type { Scenario } from "./types";

/** The fan-out with every receiver on another worker than the sender. */
export const cross: Scenario<BroadcastData> = {
  name: "cross",
  title: "Cross-worker fan-out",
  notApplicable: (spec, options) =>
    !spec.supports.multiWorker ? "one process: no other worker" : options.workers < 2 ? "--workers 1: no other worker" : undefined,
  summarize: (d) =>
    `max ${Math.round(d.max.deliveredPerSec)} msg/s to ${d.receivers} receivers` +
    (d.atRate ? `; at ${d.atRate.shoutsPerSec} shouts/s p99 ${d.atRate.latency.p99} ms` : ""),
  run: (context) => runBroadcast("cross", context),
};
