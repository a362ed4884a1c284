import type { Registry } from "prom-client";
import { scrapedCounter } from "../metrics/process-registry";

/** What the per-socket limits refused or contained on this worker (metrics and `/stats`). */
export interface LimitCounters {
  /** Events dropped because their socket was over `EVENT_RATE` / `EVENT_BURST`. */
  eventsRateLimited: number;
  /** Events refused because they were over `MAX_EVENT_SIZE`. */
  eventsTooLarge: number;
  /** Sockets disconnected for flooding (10 × `EVENT_BURST` events dropped in one flood). */
  floodDisconnects: number;
  /** `socket.join` calls refused because of `MAX_ROOMS_PER_SOCKET`. */
  roomJoinsRefused: number;
  /** Exceptions and rejected promises of application handlers, middlewares and connection listeners, contained. */
  handlerErrors: number;
  /** Clients disconnected because more than `MAX_BACKLOG` bytes waited for them. */
  slowConsumerDisconnects: number;
}

/** The mutable counters of this process. */
export const limitCounters: LimitCounters = {
  eventsRateLimited: 0,
  eventsTooLarge: 0,
  floodDisconnects: 0,
  roomJoinsRefused: 0,
  handlerErrors: 0,
  slowConsumerDisconnects: 0,
};

const METRICS: Record<keyof LimitCounters, [name: string, help: string]> = {
  eventsRateLimited: ["runtime_events_rate_limited_total", "Client events dropped by the per-socket rate limit (EVENT_RATE, EVENT_BURST)"],
  eventsTooLarge: ["runtime_events_too_large_total", "Client events refused for their size (MAX_EVENT_SIZE)"],
  floodDisconnects: ["runtime_flood_disconnects_total", "Sockets disconnected for flooding events"],
  roomJoinsRefused: ["runtime_room_joins_refused_total", "socket.join calls refused by MAX_ROOMS_PER_SOCKET"],
  handlerErrors: ["runtime_handler_errors_total", "Application event handlers that threw or rejected (contained)"],
  slowConsumerDisconnects: ["runtime_slow_consumer_disconnects_total", "Clients disconnected because their backlog passed MAX_BACKLOG"],
};

/** The limits' counters as metrics of this worker, read at scrape time. */
export function registerLimitMetrics(registry: Registry): void {
  for (const key of Object.keys(METRICS) as (keyof LimitCounters)[]) {
    const [name, help] = METRICS[key];
    scrapedCounter(registry, name, help, () => limitCounters[key]);
  }
}
