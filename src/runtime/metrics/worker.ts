import createDebug from "debug";
import type { Server } from "socket.io";
import { registerAdmissionMetrics } from "../admission/worker";
import { registerRoutingMetrics, routingCounters } from "../engines/routing-counters";
import type { HttpAnswer } from "../http/routes";
import type { WorkerChannel } from "../ipc/worker";
import { limitCounters, registerLimitMetrics } from "../limits/counters";
import type { SocketPipeline } from "../sockets/pipeline";
import { ProcessRegistry } from "./process-registry";
import { PROMETHEUS_CONTENT_TYPE, type WorkerStats } from "./report";
import { SocketIoInstrumentation } from "./socketio-instrumentation";

const debug = createDebug("runtime:metrics:worker");

/** Longest `GET /stats` or `GET /metrics` waits for the primary's collection (ms). */
const QUERY_TIMEOUT_MS = 5000;

export interface WorkerMetricsOptions {
  channel: WorkerChannel;
  /** This worker's cluster id (the `worker` label of its series). */
  workerId: number;
  engine: "uws" | "node";
  /** Engine.IO sessions open on this worker. */
  sessions: () => number;
  /** `METRICS`: with `false` nothing is counted for Prometheus (`/stats` still works). */
  metrics: boolean;
}

const JSON_HEADERS = { "content-type": "application/json", "cache-control": "no-store" };
const TEXT_HEADERS = { "content-type": "text/plain; charset=utf-8" };

/**
 * The worker's half of `/stats` and `/metrics`: its report (counters and, with `METRICS=on`, its
 * process metrics, the router's, admission's and the limits' counters and the Socket.IO
 * instrumentation) for the primary's collection, and the answers to the two routes, built from the
 * primary's snapshot of every process.
 */
export class WorkerMetrics {
  private readonly registry: ProcessRegistry | undefined;

  constructor(private readonly options: WorkerMetricsOptions) {
    if (options.metrics) {
      this.registry = new ProcessRegistry({ role: "worker", worker: String(options.workerId), engine: options.engine });
      registerRoutingMetrics(this.registry.registry, options.sessions);
      registerAdmissionMetrics(this.registry.registry);
      registerLimitMetrics(this.registry.registry);
    }
    options.channel.handle("metrics:collect", async () => ({ stats: this.stats(), metrics: await this.registry?.snapshot() }));
  }

  /** Starts counting what Socket.IO does on `io` (every namespace, present and future), with `METRICS=on`. */
  instrument(io: Server, pipeline: SocketPipeline): void {
    if (this.registry) new SocketIoInstrumentation(io, pipeline, this.registry.registry);
  }

  /** Whether `GET /metrics` is served. */
  get enabled(): boolean {
    return this.registry !== undefined;
  }

  stats(): WorkerStats {
    return {
      workerId: this.options.workerId,
      pid: process.pid,
      engine: this.options.engine,
      sessions: this.options.sessions(),
      ...routingCounters,
      limits: { ...limitCounters },
      rss: process.memoryUsage.rss(),
    };
  }

  /** `GET /stats`: every worker's counters, or 503 when they cannot be had. */
  async answerStats(): Promise<HttpAnswer> {
    try {
      const { stats, error } = await this.options.channel.request("cluster:snapshot", { view: "stats" }, { timeoutMs: QUERY_TIMEOUT_MS });
      if (!stats) throw new Error(error ?? "no stats");
      return { status: 200, headers: JSON_HEADERS, body: JSON.stringify(stats) };
    } catch (err) {
      debug("GET /stats failed: %s", (err as Error).message);
      return { status: 503, headers: TEXT_HEADERS, body: "stats unavailable\n" };
    }
  }

  /** `GET /metrics`: every process's metrics, or 503 when they cannot be had. */
  async answerMetrics(): Promise<HttpAnswer> {
    try {
      const { text, error } = await this.options.channel.request("cluster:snapshot", { view: "metrics" }, { timeoutMs: QUERY_TIMEOUT_MS });
      if (text === undefined) throw new Error(error ?? "no metrics");
      return { status: 200, headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" }, body: text };
    } catch (err) {
      debug("GET /metrics failed: %s", (err as Error).message);
      return { status: 503, headers: TEXT_HEADERS, body: "metrics unavailable\n" };
    }
  }
}
