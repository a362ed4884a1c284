import { runBroadcast, type BroadcastData } from "./broadcast";
import type { Scenario } from "./types";

/** Broadcast fan-out: one sender, N receivers, global `io.emit`. */
export const fanout: Scenario<BroadcastData> = {
  name: "fanout",
  title: "Broadcast fan-out (io.emit)",
  summarize: (d) =>
    `max ${Math.round(d.max.deliveredPerSec)} msg/s to ${d.receivers} receivers` +
    (d.atRate ? `; at ${d.atRate.shoutsPerSec} shouts/s p99 ${d.atRate.latency.p99} ms` : ""),
  run: (context) => runBroadcast("fanout", context),
};
