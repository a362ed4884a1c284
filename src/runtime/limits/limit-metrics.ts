import type { Registry } from "prom-client";
import { scrapedCounter } from "../metrics/scraped-counter";
import { limitCounters, type LimitCounters } from "./limit-counters";

const HELP: Record<keyof LimitCounters, [name: string, help: string]> = {
  eventsRateLimited: ["runtime_events_rate_limited_total", "Client events dropped by the per-socket rate limit (EVENT_RATE, EVENT_BURST)"],
  eventsTooLarge: ["runtime_events_too_large_total", "Client events refused for their size (MAX_EVENT_SIZE)"],
  floodDisconnects: ["runtime_flood_disconnects_total", "Sockets disconnected for flooding events"],
  roomJoinsRefused: ["runtime_room_joins_refused_total", "socket.join calls refused by MAX_ROOMS_PER_SOCKET"],
  handlerErrors: ["runtime_handler_errors_total", "Application event handlers that threw or rejected (contained)"],
  slowConsumerDisconnects: ["runtime_slow_consumer_disconnects_total", "Clients disconnected because their backlog passed MAX_BACKLOG"],
};

/** The limits' counters as metrics of this worker, read at scrape time. */
export function registerLimitMetrics(registry: Registry): void {
  for (const key of Object.keys(HELP) as (keyof LimitCounters)[]) {
    const [name, help] = HELP[key];
    scrapedCounter(registry, name, help, () => limitCounters[key]);
  }
}
