import type { BaseServer, ServerOptions as EngineOptions } from "engine.io";
import type { Server, ServerOptions } from "socket.io";
import type { Config } from "../../config/env";
import type { Logger } from "../../log/logger";
import type { HttpRoutes } from "../http/routes";

/** What a worker gives an engine adapter. */
export interface EngineContext {
  config: Config;
  log: Logger;
  /** This worker's cluster id (unique per worker process for the primary's lifetime). */
  workerId: number;
  /** Folder the primary created for this cluster's private sockets. */
  runtimeDir: string;
  routes: HttpRoutes;
  /** Options for the Socket.IO server (heartbeat, CORS, adapter, …). */
  serverOptions: Partial<ServerOptions>;
}

/**
 * A Socket.IO server on one kind of HTTP server, with sticky sessions across workers.
 * `uws` and `node` implement it; everything above the engine only sees this.
 */
export interface RunningEngine {
  readonly io: Server;
  /** A plain Engine.IO server at `path` (same port, same sticky routing). */
  createEngineServer(path: string, options: Partial<EngineOptions>): BaseServer;
  /** Starts listening; resolves once connections are accepted, rejects if the port cannot be bound. */
  listen(): Promise<void>;
  /**
   * Drains this worker: stops accepting connections, closes its client sessions (clients
   * reconnect to another worker) and lets what is in flight finish. Resolves when done, or at
   * `deadline` (a `Date.now()` value).
   */
  drain(deadline: number): Promise<void>;
  /** Engine.IO sessions open here. */
  sessionCount(): number;
  /** Releases everything left (private listener, timers). */
  close(): void;
}

export interface EngineAdapter {
  readonly name: "uws" | "node";
  create(context: EngineContext): RunningEngine;
}
