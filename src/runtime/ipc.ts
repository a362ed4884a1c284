import type { WorkerStats } from "./stats";

/**
 * Messages between the primary and its workers. Every `type` starts with `rt:` so
 * that they never collide with the cluster adapter's or `@socket.io/sticky`'s messages.
 */
export type WorkerToPrimary =
  /** The worker listens and serves; sent once. */
  | { type: "rt:ready" }
  /** The worker cannot run (e.g. the port is taken); the primary stops with this reason. */
  | { type: "rt:fatal"; reason: string }
  /** A worker asks for the stats of every worker (to answer `GET /stats`). */
  | { type: "rt:stats-query"; id: number }
  /** A worker's answer to `rt:stats-collect`. */
  | { type: "rt:stats-report"; id: number; stats: WorkerStats }
  /** The last message of a draining worker: once it is written, everything sent before it is too. */
  | { type: "rt:bye" };

export type PrimaryToWorker =
  /** Stop accepting, disconnect clients so they reconnect elsewhere, exit. */
  | { type: "rt:shutdown" }
  /** Report your stats with this id. */
  | { type: "rt:stats-collect"; id: number }
  /** Answer to `rt:stats-query`. */
  | { type: "rt:stats-result"; id: number; result: ClusterStats };

/** What `GET /stats` returns. */
export interface ClusterStats {
  primaryPid: number;
  workerRestarts: number;
  workers: WorkerStats[];
}

/** Narrows an unknown IPC message to one of ours. */
export function isRuntimeMessage<T extends { type: string }>(message: unknown): message is T {
  return (
    typeof message === "object" &&
    message !== null &&
    typeof (message as { type?: unknown }).type === "string" &&
    (message as { type: string }).type.startsWith("rt:")
  );
}
