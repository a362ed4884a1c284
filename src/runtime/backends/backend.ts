import type { ServerOptions } from "socket.io";
import type { Config } from "../../config/env";
import type { Logger } from "../../log/logger";
import type { SharedState } from "../../state/shared-state";
import type { PrimaryChannel } from "../ipc/primary";
import type { WorkerChannel } from "../ipc/worker";

/**
 * Where the cluster keeps what spans processes: broadcasts and `fetchSockets` across workers (the
 * Socket.IO adapter), connection state recovery (a session and the broadcasts it missed, whatever
 * worker it comes back to), and the shared state of the application. `ADAPTER=cluster`: the
 * primary of one machine (`./cluster/`); `ADAPTER=redis`: Redis, for several machines (`./redis/`).
 */
export interface Backend {
  readonly name: Config["adapter"];
  /**
   * The primary's half (the cluster backend's hub: the adapter's relay, the recovery log, the
   * shared state). `handedOver`: what the previous primary's half returned from `handOver()`.
   */
  primary(context: { config: Config; channel: PrimaryChannel; log: Logger; handedOver?: unknown }): BackendPrimary;
  /** The worker's half; rejects with one line when it cannot start (Redis unreachable). */
  worker(context: { config: Config; channel: WorkerChannel; log: Logger }): Promise<BackendWorker>;
}

/** The primary's half, running. */
export interface BackendPrimary {
  /** What the next primary's half needs (a deploy replaces the primary; its workers are closed). */
  handOver(): unknown;
}

/** What a worker runs on. */
export interface BackendWorker {
  /** The Socket.IO adapter (with connection state recovery) for `new Server({ adapter })`. */
  adapter: ServerOptions["adapter"];
  /** The application's shared state. */
  state: SharedState;
  /** Flushes what is pending (persisted sessions) and withdraws this process's state. */
  close(): Promise<void>;
}

/** The backend `ADAPTER` names; its halves are loaded on demand (the Redis client only when used). */
export function backendOf(config: Pick<Config, "adapter">): Backend {
  /* eslint-disable @typescript-eslint/no-require-imports */
  if (config.adapter === "redis") {
    return {
      name: "redis",
      // every worker talks to Redis itself: the primary holds nothing
      primary: () => ({ handOver: () => undefined }),
      worker: (context) => (require("./redis/worker") as typeof import("./redis/worker")).startRedisWorker(context),
    };
  }
  return {
    name: "cluster",
    primary: (context) => (require("./cluster/primary") as typeof import("./cluster/primary")).startClusterPrimary(context),
    worker: (context) => (require("./cluster/worker") as typeof import("./cluster/worker")).startClusterWorker(context),
  };
}
