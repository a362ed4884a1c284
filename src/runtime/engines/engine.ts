import type { Worker } from "node:cluster";
import type { BaseServer, ServerOptions as EngineOptions } from "engine.io";
import type { Server, ServerOptions } from "socket.io";
import type { Config } from "../../config/env";
import type { Logger } from "../../log/logger";
import type { Admission } from "../admission/worker";
import type { HttpRoutes } from "../http/routes";
import type { PrimaryChannel } from "../ipc/primary";
import type { WorkerChannel } from "../ipc/worker";
import type { SocketPipeline } from "../sockets/pipeline";
import type { UwsBuild, UwsCheck } from "./uws/primary";

/**
 * An engine: Socket.IO on one kind of HTTP server, with sticky sessions across workers. `uws`
 * (`./uws/`) and `node` (`./node/`) implement it; everything above the engines only sees these
 * interfaces. Like the other subsystems, an engine has a primary half and a worker half.
 */
export interface Engine {
  readonly name: "uws" | "node";
  /** The primary's half (the Node engine's connection router); rejects when the port cannot be bound. */
  primary(context: EnginePrimaryContext): Promise<EnginePrimary>;
  /** The worker's half: the HTTP server, the Socket.IO server on it, sticky routing. */
  worker(context: EngineContext): RunningEngine;
}

export interface EnginePrimaryContext {
  config: Config;
  channel: PrimaryChannel;
  /** Workers that listen and take connections now. */
  readyWorkers: () => Worker[];
  log: Logger;
}

export interface EnginePrimary {
  /** Stops taking connections (the primary is stopping). */
  close(): void;
}

/** What a worker gives its engine. */
export interface EngineContext {
  config: Config;
  log: Logger;
  /** This worker's cluster id (unique per worker process for the primary's lifetime). */
  workerId: number;
  /** Folder the primary created for this cluster's private sockets. */
  runtimeDir: string;
  /** The IPC channel to the primary (the Node engine receives its connections through it). */
  channel: WorkerChannel;
  routes: HttpRoutes;
  /** Origin allowlist, client address and per-address limits, for the engine's `verify()`. */
  admission: Admission;
  /** Options for the Socket.IO server (heartbeat, CORS, adapter, …). */
  serverOptions: Partial<ServerOptions>;
  /** Takes no new session until {@link RunningEngine.serve} (see `ClusterPlan.held`). */
  held: boolean;
}

/** A worker's running engine. */
export interface RunningEngine {
  readonly io: Server;
  /** Registers the engine's own socket hooks (called once the pipeline exists, before the application). */
  useHooks(pipeline: SocketPipeline): void;
  /** A plain Engine.IO server at `path` (same port, same sticky routing). */
  createEngineServer(path: string, options: Partial<EngineOptions>): BaseServer;
  /** Starts listening; resolves once connections are accepted, rejects if the port cannot be bound. */
  listen(): Promise<void>;
  /** Takes no new clients (new connections go to other workers); the sessions here go on. */
  stopAccepting(): void;
  /** Takes new sessions, when it started held (`EngineContext.held`). */
  serve(): void;
  /**
   * Drains this worker: stops accepting connections, closes its client sessions (clients
   * reconnect to another worker) and lets what is in flight finish. Resolves when done, or at
   * `deadline` (a `Date.now()` value).
   */
  drain(deadline: number): Promise<void>;
  /**
   * Hands the port over to the next primary's workers (`pm2 reload`; engines whose workers listen
   * themselves only): takes no new sessions (handshakes get 503; `/healthz` still answers), closes
   * the sessions here so that their clients reconnect and recover, and keeps listening until
   * `drain`. Resolves once the sessions are closed, or at `deadline`.
   */
  handOver?(deadline: number): Promise<void>;
  /** Engine.IO sessions open here. */
  sessionCount(): number;
  /** Releases everything left (private listener, timers). */
  close(): void;
}

/**
 * The engine named `name`. Its halves are loaded on demand: the uWS engine's worker loads a native
 * binary that the primary, and the Node engine, must not need.
 */
export function loadEngine(name: Config["engine"]): Engine {
  /* eslint-disable @typescript-eslint/no-require-imports */
  if (name === "uws") {
    return {
      name,
      // every worker listens on the port itself (SO_REUSEPORT): the primary only checks the kernel's setting
      primary: (context) => {
        (require("./uws/reuseport") as typeof import("./uws/reuseport")).warnIfQueuedConnectionsReset(context.log);
        return Promise.resolve({ close() {} });
      },
      worker: (context) => (require("./uws/worker") as typeof import("./uws/worker")).startUwsWorker(context),
    };
  }
  return {
    name,
    primary: (context) => (require("./node/primary") as typeof import("./node/primary")).startConnectionRouter(context),
    worker: (context) => (require("./node/worker") as typeof import("./node/worker")).startNodeWorker(context),
  };
}

/** The engine the cluster runs, and what the primary says about it once. */
export interface EngineSelection {
  engine: Config["engine"];
  /** The uWebSockets.js build that serves (`engine` is `uws`). */
  uws?: UwsBuild;
  /** One line for the primary's start record: `engine: uws, uWebSockets.js 20.57.0 (…), Node 24, ABI 137`. */
  summary: string;
  /** Why `ENGINE=uws` fell back to `node`, and what the user can do about it. */
  fallback?: Omit<Extract<UwsCheck, { ok: false }>, "ok">;
}

/**
 * The engine the cluster runs: `ENGINE`, unless it is `uws` and uWebSockets.js cannot serve here
 * (then `node`, and `fallback` says why and what to do).
 */
export function selectEngine(configured: Config["engine"]): EngineSelection {
  if (configured !== "uws") return { engine: configured, summary: `engine: ${configured}` };
  const uws = require("./uws/primary") as typeof import("./uws/primary");
  const check = uws.checkUws();
  if (check.ok) return { engine: "uws", uws: check.build, summary: `engine: uws, ${uws.describeUwsBuild(check.build)}` };
  const { reason, remedy, package: name, version } = check;
  return { engine: "node", fallback: { reason, remedy, package: name, version }, summary: "engine: node (uWebSockets.js cannot load here)" };
}

/** Resolves once `condition()` holds, checking every `everyMs`, or at `deadline` (a `Date.now()` value). */
export async function waitUntil(condition: () => boolean, deadline: number, everyMs = 20): Promise<boolean> {
  while (!condition()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return true;
}
