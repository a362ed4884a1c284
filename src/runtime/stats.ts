import type { LimitCounters } from "./limits/limit-counters";

/** Counters a worker keeps about its own routing work; aggregated by the primary. */
export interface WorkerStats {
  /** Cluster worker id (unique per worker process during the primary's life). */
  workerId: number;
  pid: number;
  engine: "uws" | "node";
  /** Engine.IO sessions open on this worker, all paths together. */
  sessions: number;
  /** Polling requests this worker forwarded to the worker that owns their session. */
  forwardedRequests: number;
  /** Engine.IO packets carried by forwarded requests (both directions): frames that crossed processes. */
  relayedFrames: number;
  /** Sessions this worker took over because their WebSocket upgrade reached it. */
  takeovers: number;
  /** Sessions this worker handed to another worker. */
  handovers: number;
  /** Takeovers the owner refused (the client then stays on polling, forwarded). */
  takeoversRefused: number;
  /** What the per-socket limits refused or contained (`src/runtime/limits/`). */
  limits?: LimitCounters;
  rss: number;
}

/** The mutable counters of this process. */
export const stats = {
  forwardedRequests: 0,
  relayedFrames: 0,
  takeovers: 0,
  handovers: 0,
  takeoversRefused: 0,
};
