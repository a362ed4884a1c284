import type { BaseServer } from "engine.io";
import type { Server } from "socket.io";
import type { Config } from "../config/env";
import type { Logger } from "../log/logger";
import type { SharedState } from "../state/shared-state";

/**
 * What a feature module receives. It never sees workers, IPC or the HTTP engine: the Socket.IO
 * server it gets already spans the cluster (broadcasts, rooms, `fetchSockets`, `serverSideEmit`).
 */
export interface FeatureContext<S extends Server = Server> {
  /** The Socket.IO server of this worker; its adapter spans every worker (and machine, with `ADAPTER=redis`). */
  io: S;
  /** pino logger; its records carry `app` (the application's name) and the worker's id. */
  log: Logger;
  /** The runtime's settings, validated (see the README's *Configuration*). */
  config: Config;
  /** Cluster-wide state (claims, counters, sequences), released when a process dies. */
  state: SharedState;
  /**
   * A label for the process serving this connection (opaque; for diagnostics and tests that must
   * tell instances apart, never for routing).
   */
  instance: string;
  /** A plain Engine.IO server at `path`, on the same port, for protocol-level applications. */
  engineServer(path: string, options?: Record<string, unknown>): BaseServer;
}

/** A feature: registers its handlers and middlewares on the context, once per process. */
export type Feature<S extends Server = Server> = (context: FeatureContext<S>) => void;

/** An application: named features, started in order (see `defineApp`). */
export interface Application {
  /** Shown as `app` in the features' log records. */
  name: string;
  /** Socket.IO server options the application needs (merged over the runtime's). */
  serverOptions?: Record<string, unknown>;
  features: Feature<Server>[];
}
