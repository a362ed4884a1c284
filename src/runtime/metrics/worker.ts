import type { Server } from "socket.io";
import { registerAdmissionMetrics } from "../admission/worker";
import { registerRoutingMetrics, routingCounters } from "../engines/routing-counters";
import type { WorkerChannel } from "../ipc/worker";
import { limitCounters, registerLimitMetrics } from "../limits/counters";
import type { SocketPipeline } from "../sockets/pipeline";
import { ProcessRegistry } from "./process-registry";
import type { WorkerStats } from "./report";
import { SocketIoInstrumentation } from "./socketio-instrumentation";

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

/**
 * The worker's half of `/stats` and `/metrics` (served by the primary on the admin port): its report
 * for the primary's collection: its counters and, with `METRICS=on`, its process metrics, the
 * router's, admission's and the limits' counters and the Socket.IO instrumentation.
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
}
