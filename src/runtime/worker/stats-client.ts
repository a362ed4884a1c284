import cluster from "node:cluster";
import type { RunningEngine } from "../engines/engine";
import { isRuntimeMessage, type ClusterStats, type PrimaryToWorker } from "../ipc";
import { stats, type WorkerStats } from "../stats";
import { limitCounters } from "../limits/limit-counters";

/**
 * The worker's side of stats aggregation: answers the primary's collect requests with this
 * worker's counters, and asks the primary for every worker's counters (for `GET /stats`).
 */
export class StatsClient {
  private nextId = 1;
  private readonly waiting = new Map<number, (result: ClusterStats) => void>();

  constructor(
    private readonly engineName: "uws" | "node",
    private readonly engine: () => RunningEngine | undefined,
  ) {
    process.on("message", (message: unknown) => {
      if (!isRuntimeMessage<PrimaryToWorker>(message)) return;
      if (message.type === "rt:stats-collect") {
        process.send?.({ type: "rt:stats-report", id: message.id, stats: this.own() });
      } else if (message.type === "rt:stats-result") {
        this.waiting.get(message.id)?.(message.result);
        this.waiting.delete(message.id);
      }
    });
  }

  own(): WorkerStats {
    return {
      workerId: cluster.worker?.id ?? 0,
      pid: process.pid,
      engine: this.engineName,
      sessions: this.engine()?.sessionCount() ?? 0,
      ...stats,
      limits: { ...limitCounters },
      rss: process.memoryUsage.rss(),
    };
  }

  /** Every worker's stats, via the primary; rejects after `timeoutMs`. */
  query(timeoutMs = 3000): Promise<ClusterStats> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error("stats query timed out"));
      }, timeoutMs);
      this.waiting.set(id, (result) => {
        clearTimeout(timer);
        resolve(result);
      });
      process.send?.({ type: "rt:stats-query", id });
    });
  }
}
