import { Gauge, type Registry } from "prom-client";
import { scrapedCounter } from "./scraped-counter";
import { stats } from "../stats";

/**
 * The sticky router's counters (`../stats.ts`, also in `GET /stats`) and the number of Engine.IO
 * sessions, as metrics of this worker. Read at scrape time: nothing is added to the hot path.
 */
export function registerRoutingMetrics(registry: Registry, sessions: () => number): void {
  const counter = (name: string, help: string, read: () => number) => scrapedCounter(registry, name, help, read);
  counter(
    "runtime_forwarded_requests_total",
    "Polling requests forwarded to the worker that owns their session",
    () => stats.forwardedRequests,
  );
  counter(
    "runtime_relayed_frames_total",
    "Engine.IO packets carried by forwarded requests, both directions (frames that crossed processes)",
    () => stats.relayedFrames,
  );
  counter("runtime_takeovers_total", "Sessions taken over because their WebSocket upgrade reached this worker", () => stats.takeovers);
  counter("runtime_handovers_total", "Sessions handed to another worker", () => stats.handovers);
  counter(
    "runtime_takeovers_refused_total",
    "Takeovers the owner refused (the client stays on polling, forwarded)",
    () => stats.takeoversRefused,
  );
  new Gauge({
    name: "runtime_engine_sessions",
    help: "Engine.IO sessions open on this worker, all paths together",
    registers: [registry],
    collect() {
      this.set(sessions());
    },
  });
}
