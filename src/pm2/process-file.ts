import path from "node:path";
import { CLI_ENTRY } from "../embed/runtime";

/** What {@link pm2App} takes. */
export interface Pm2AppOptions {
  /** pm2's name for the process (`pm2 ls`, `pm2 sendSignal SIGHUP <name>`). Default: `"socketio-runtime"`. */
  name?: string;
  /**
   * The application module (TypeScript or JavaScript), relative to `cwd`. Default: none, the
   * built-in application named by `APP`.
   */
  app?: string;
  /** The project folder: the process's working directory, and where `logs/` goes. Default: the working directory. */
  cwd?: string;
  /** The script pm2 runs. Default: the package's command, with `start <app>`. */
  script?: string;
  /** Its arguments. Default: `["start", app]`. */
  args?: string[];
  /** More environment for the process (settings such as `ADAPTER`); the shell's is passed too. Default: none. */
  env?: Record<string, string>;
}

/** pm2's settings for one app (a process file's `apps[]` entry). */
export type Pm2App = Record<string, unknown>;

/**
 * One pm2 app that runs the runtime's primary in fork mode (see docs/pm2.md for each option):
 * pm2 waits for `ready` (every worker listens), sends SIGINT to the primary only (under pm2 it
 * hands its port and recovery log over to the next primary, see `treekill`) and kills it only
 * after `SHUTDOWN_TIMEOUT` + 5 s. Read from the environment of the
 * shell that loads the process file: `PORT` (3000), `WORKERS` (one per core), `SHUTDOWN_TIMEOUT`
 * (10000), `LOG_LEVEL` (info, with `--env production`), `MAX_MEMORY_RESTART` (1G), `PM2_LOG_DIR`
 * (`<cwd>/logs`).
 */
export function pm2App(options: Pm2AppOptions = {}): Pm2App {
  const env = (name: string, fallback: string) => process.env[name] || fallback;
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const name = options.name ?? "socketio-runtime";
  const shutdownTimeout = Number.parseInt(env("SHUTDOWN_TIMEOUT", "10000"), 10) || 10_000;
  const logDir = path.resolve(cwd, env("PM2_LOG_DIR", "logs"));
  return {
    name,
    cwd,
    script: options.script ?? CLI_ENTRY,
    args: options.args ?? ["start", ...(options.app ? [path.resolve(cwd, options.app)] : [])],
    exec_mode: "fork",
    instances: 1,
    // pm2 stops a fork-mode process (SIGINT) before it starts the next one (`pm2 reload` is a
    // restart there). Under pm2, SIGINT to the primary (to it only: no tree kill) makes it hand
    // over instead of drain (uWS engine): its workers close their sessions and keep the port
    // (/healthz answers), it leaves its recovery log for the next primary and exits at once; the
    // next primary restores the log and stops the old workers once its own listen. Without a
    // successor (`pm2 stop`), the old workers exit by themselves after SHUTDOWN_TIMEOUT. (The Node
    // engine's port is the primary's: it drains.)
    treekill: false,
    // the primary sends "ready" once every worker listens; until then pm2 shows "launching"
    wait_ready: true,
    listen_timeout: 30_000,
    // longer than the drain: the primary exits at most SHUTDOWN_TIMEOUT ms after SIGINT
    kill_timeout: shutdownTimeout + 5_000,
    // the primary's memory only (not its workers'); a restart is the graceful drain of `pm2 reload`
    max_memory_restart: env("MAX_MEMORY_RESTART", "1G"),
    // a primary that exits within min_uptime (port in use, invalid configuration, crash loop)
    // counts as unstable; pm2 retries with a growing delay and gives up after max_restarts
    min_uptime: 10_000,
    max_restarts: 10,
    exp_backoff_restart_delay: 200,
    // stdout: JSON lines of the primary and every worker (not a terminal); stderr: DEBUG output, configuration errors
    out_file: path.join(logDir, `${name}.out.log`),
    error_file: path.join(logDir, `${name}.err.log`),
    merge_logs: true,
    env: {
      PORT: env("PORT", "3000"),
      WORKERS: env("WORKERS", ""), // empty: one worker per core
      SHUTDOWN_TIMEOUT: String(shutdownTimeout),
      ...options.env,
    },
    env_production: {
      NODE_ENV: "production",
      LOG_LEVEL: env("LOG_LEVEL", "info"),
    },
  };
}

/**
 * A whole process file for one application: `ecosystem.config.js` of a project is
 * `module.exports = require("uws-socketio-cluster/pm2").ecosystem({ name: "chat", app: "src/app.ts", cwd: __dirname })`,
 * then `npx pm2 start ecosystem.config.js --env production`.
 */
export function ecosystem(options: Pm2AppOptions = {}): { apps: Pm2App[] } {
  return { apps: [pm2App(options)] };
}
