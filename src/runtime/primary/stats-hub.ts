import cluster, { type Worker } from "node:cluster";
import { isRuntimeMessage, type ClusterStats, type WorkerToPrimary } from "../ipc";
import type { WorkerStats } from "../stats";

/**
 * Answers a worker's `rt:stats-query` with the stats of every live worker: asks each with
 * `rt:stats-collect` and replies when all answered or after `timeoutMs`.
 */
export function serveClusterStats(workers: () => Worker[], extra: () => { workerRestarts: number }, timeoutMs = 1000): void {
  let nextId = 1;
  const collecting = new Map<number, (stats: WorkerStats) => void>();
  cluster.on("message", (from: Worker, message: unknown) => {
    if (!isRuntimeMessage<WorkerToPrimary>(message)) return;
    if (message.type === "rt:stats-report") {
      collecting.get(message.id)?.(message.stats);
      return;
    }
    if (message.type !== "rt:stats-query") return;
    const id = nextId++;
    const targets = workers();
    const reports: WorkerStats[] = [];
    const reply = () => {
      collecting.delete(id);
      clearTimeout(timer);
      const result: ClusterStats = {
        primaryPid: process.pid,
        ...extra(),
        workers: reports.sort((a, b) => a.workerId - b.workerId),
      };
      if (from.isConnected()) from.send({ type: "rt:stats-result", id: message.id, result });
    };
    const timer = setTimeout(reply, timeoutMs);
    collecting.set(id, (stats) => {
      reports.push(stats);
      if (reports.length === targets.length) reply();
    });
    for (const worker of targets) if (worker.isConnected()) worker.send({ type: "rt:stats-collect", id });
    if (targets.length === 0) reply();
  });
}
