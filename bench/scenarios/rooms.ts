import { runBroadcast, type BroadcastData } from "./broadcast";
import type { Scenario } from "./types";

/** Room broadcasts: N receivers over many rooms, the sender emitting to each room in turn. */
export const rooms: Scenario<BroadcastData> = {
  name: "rooms",
  title: "Room broadcasts (io.to(room).emit)",
  summarize: (d) =>
    `max ${Math.round(d.max.deliveredPerSec)} msg/s to ${d.receivers} receivers` +
    (d.atRate ? `; at ${d.atRate.shoutsPerSec} shouts/s p99 ${d.atRate.latency.p99} ms` : ""),
  run: (context) => runBroadcast("rooms", context),
};
