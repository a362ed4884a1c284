import createDebug from "debug";
import type { Server } from "socket.io";
import type { HttpAnswer } from "../http/routes";
import { registerAdmissionMetrics } from "../admission/metrics";
import { registerLimitMetrics } from "../limits/limit-metrics";
import { isRuntimeMessage } from "../ipc";
import { PROMETHEUS_CONTENT_TYPE } from "./merge";
import type { MetricsPrimaryToWorker, MetricsWorkerToPrimary } from "./messages";
import { ProcessRegistry } from "./process-registry";
import { registerRoutingMetrics } from "./routing-metrics";
import { SocketIoInstrumentation } from "./socketio-instrumentation";

const debug = createDebug("runtime:metrics:worker");

export interface WorkerMetricsOptions {
  /** This worker's cluster id (the `worker` label of its series). */
  workerId: number;
  engine: "uws" | "node";
  /** Engine.IO sessions open on this worker. */
  sessions: () => number;
}

function send(message: MetricsWorkerToPrimary): void {
  process.send?.(message);
}

/**
 * A worker's metrics: its process metrics, the router's counters, the Socket.IO instrumentation
 * (after {@link instrument}); answers the primary's `rt:metrics-collect`, and asks the primary for
 * the whole cluster's text to answer `GET /metrics` ({@link query}).
 */
export class WorkerMetrics {
  private readonly process: ProcessRegistry;
  private nextId = 1;
  private readonly waiting = new Map<number, (result: { text?: string; error?: string }) => void>();

  constructor(options: WorkerMetricsOptions) {
    this.process = new ProcessRegistry({ role: "worker", worker: String(options.workerId), engine: options.engine });
    registerRoutingMetrics(this.process.registry, options.sessions);
    registerAdmissionMetrics(this.process.registry);
    registerLimitMetrics(this.process.registry);
    process.on("message", (message: unknown) => {
      if (!isRuntimeMessage<MetricsPrimaryToWorker>(message)) return;
      if (message.type === "rt:metrics-collect") {
        this.process.snapshot().then(
          (metrics) => send({ type: "rt:metrics-report", id: message.id, metrics }),
          (err: unknown) => debug("cannot collect metrics: %s", (err as Error).message),
        );
      } else if (message.type === "rt:metrics-result") {
        this.waiting.get(message.id)?.(message);
        this.waiting.delete(message.id);
      }
    });
  }

  /** Starts counting what Socket.IO does on `io` (every namespace, present and future). */
  instrument(io: Server): void {
    new SocketIoInstrumentation(io, this.process.registry);
  }

  /** The answer to `GET /metrics`: every process's metrics, or 503 when they cannot be had. */
  async answer(): Promise<HttpAnswer> {
    try {
      const body = await this.query();
      return { status: 200, headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" }, body };
    } catch (err) {
      debug("GET /metrics failed: %s", (err as Error).message);
      return { status: 503, headers: { "content-type": "text/plain; charset=utf-8" }, body: "metrics unavailable\n" };
    }
  }

  /**
   * The Prometheus text of every process of the cluster, via the primary; rejects after
   * `timeoutMs` or when the primary could not build it.
   */
  query(timeoutMs = 5000): Promise<string> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error("metrics query timed out"));
      }, timeoutMs);
      this.waiting.set(id, (result) => {
        clearTimeout(timer);
        if (result.text !== undefined) resolve(result.text);
        else reject(new Error(result.error ?? "no metrics"));
      });
      if (!process.send) {
        this.waiting.delete(id);
        clearTimeout(timer);
        return reject(new Error("not running under the cluster primary"));
      }
      send({ type: "rt:metrics-query", id });
    });
  }
}
