import { Gauge, type Registry } from "prom-client";
import { scrapedCounter } from "../metrics/process-registry";

/** The sticky router's counters in this process (`GET /stats`, and metrics read at scrape time). */
export const routingCounters = {
  forwardedRequests: 0,
  relayedFrames: 0,
  takeovers: 0,
  handovers: 0,
  takeoversRefused: 0,
  relayedUpgrades: 0,
  overlappingPollsAcrossHop: 0,
  cancelledForwardedPolls: 0,
  pollsPastPingDeadline: 0,
};

/** The router's counters and the number of Engine.IO sessions, as metrics of this worker. */
export function registerRoutingMetrics(registry: Registry, sessions: () => number): void {
  const counter = (name: string, help: string, read: () => number) => scrapedCounter(registry, name, help, read);
  counter("runtime_forwarded_requests_total", "Polling requests forwarded to the worker that owns their session", () => routingCounters.forwardedRequests);
  counter(
    "runtime_relayed_frames_total",
    "Engine.IO packets carried by forwarded requests, both directions (frames that crossed processes)",
    () => routingCounters.relayedFrames,
  );
  counter("runtime_takeovers_total", "Sessions taken over because their WebSocket upgrade reached this worker", () => routingCounters.takeovers);
  counter("runtime_handovers_total", "Sessions handed to another worker", () => routingCounters.handovers);
  counter("runtime_takeovers_refused_total", "Takeovers the owner refused (its application has the session already)", () => routingCounters.takeoversRefused);
  counter(
    "runtime_relayed_upgrades_total",
    "WebSockets relayed to the worker that has their session (their session could not move)",
    () => routingCounters.relayedUpgrades,
  );
  counter(
    "runtime_overlapping_polls_across_hop_total",
    "Polls that overlapped a pending poll of their session (a duplicate poll) where one of the two came through another worker: which one the client sent first cannot be known",
    () => routingCounters.overlappingPollsAcrossHop,
  );
  counter(
    "runtime_cancelled_forwarded_polls_total",
    "Polls this worker was forwarding to their session's owner when their client cancelled them: the owner may not learn of the cancellation before the client's next poll",
    () => routingCounters.cancelledForwardedPolls,
  );
  counter(
    "runtime_polls_past_ping_deadline_total",
    "Polls served by a session whose heartbeat deadline (ping due + pingTimeout) had passed: its ping timeout timer was late (a busy machine)",
    () => routingCounters.pollsPastPingDeadline,
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
