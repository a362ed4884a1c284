import type { LimitCounters } from "../limits/counters";

/**
 * What each process reports for `GET /stats` and `GET /metrics`: one collection, plain data that
 * crosses the IPC channel (`metrics:collect`), merged by the primary (`./primary.ts`).
 */
export interface ProcessReport {
  /** A worker's counters (`/stats`). */
  stats: WorkerStats;
  /** Its metric families, each value labelled with its `worker`; absent with `METRICS=off`. */
  metrics?: ProcessMetrics;
}

/** One metric family as prom-client's `Registry.getMetricsAsJSON()` gives it (plain data). */
export interface MetricFamily {
  name: string;
  help: string;
  type: string;
  /** How prom-client would merge the family across processes (`sum`, `first`, `omit`, …). */
  aggregator: string;
  values: Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;
}

/** One process's metrics, every value already labelled with the process's `worker` label. */
export type ProcessMetrics = MetricFamily[];

/** Counters a worker keeps about its own work (routing, limits), and its memory. */
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
  /** Takeovers the owner refused (its application has the session already: the WebSocket is relayed to it). */
  takeoversRefused: number;
  /** WebSocket upgrades this worker relayed to the worker that has their session. */
  relayedUpgrades: number;
  /**
   * Duplicate polls (two polls of one session at once) where one of the two came through another
   * worker: the order the client sent them in is unknown, so which one is refused may not be the
   * one sent later (no client does this but a protocol test; see `engines/uws/sticky-router.ts`).
   */
  overlappingPollsAcrossHop: number;
  /** Polls this worker was forwarding when their client cancelled them (the owner may never see them). */
  cancelledForwardedPolls: number;
  /**
   * Polls served by a session whose heartbeat deadline had passed (the ping due plus `pingTimeout`):
   * the worker's ping timeout timer fired late, as on a machine that keeps it off the CPU. No living
   * client polls that late; a protocol test that waits for the deadline does (`engines/ping-deadlines.ts`).
   */
  pollsPastPingDeadline: number;
  /** What the per-socket limits refused or contained (`src/runtime/limits/`). */
  limits?: LimitCounters;
  rss: number;
}

/** What `GET /stats` returns. */
export interface ClusterStats {
  primaryPid: number;
  workerRestarts: number;
  workers: WorkerStats[];
}

/** `Content-Type` of the Prometheus text of the cluster (exposition format 0.0.4). */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
