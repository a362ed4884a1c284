import { spawn } from "node:child_process";
import path from "node:path";
import createDebug from "debug";
import { readSetting } from "../config/env";
import { CLI_ENTRY, createRuntime, type Runtime } from "../embed/runtime";
import { createLogger, writesPrettyLogs } from "../log/logger";
import { prettifier, type LogRecord } from "../log/pretty";
import { projectFolder, SourceWatcher } from "./watch";

const debug = createDebug("runtime:cli:dev");

/** The workers `dev` runs when `WORKERS` is unset: the cluster's behaviour, quick rolls. */
export const DEV_WORKERS = "2";

/** Longest an application module may take to load in `check`. */
const CHECK_TIMEOUT_MS = 30_000;

/**
 * Loads the application module in a process of its own (`check`), as a worker will: `undefined`
 * when it exports an application, else what went wrong (a syntax error, a missing import, …).
 */
export function checkApplication(app: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_ENTRY, "check", app], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    const timer = setTimeout(() => child.kill("SIGKILL"), CHECK_TIMEOUT_MS);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(undefined);
      else resolve(stderr.trim() || `loading ${app} failed (${signal ?? `exit code ${code}`})`);
    });
  });
}

export interface DevOptions {
  /** The application module. */
  app: string;
  /** Files or folders to watch; default: the application's project folder. */
  watch: string[];
}

/**
 * `dev <app>`: runs the cluster as a child process (`createRuntime`), shows its records (readable
 * on a terminal, JSON lines as they are otherwise), watches the application's files and, after a
 * change, checks that the module loads and rolls the workers (SIGHUP): connected clients are moved
 * to new workers and recover their sessions and what they missed. A change made during a roll
 * rolls again once it ends. A module that does not load leaves the running workers as they are;
 * a runtime that stopped starts again on the next change. Resolves the exit code after SIGINT or SIGTERM.
 */
export async function dev(options: DevOptions): Promise<number> {
  process.env.WORKERS ||= DEV_WORKERS;
  const app = path.resolve(options.app);
  const logSettings = { logLevel: readSetting("logLevel"), logFormat: readSetting("logFormat"), sslKeyFile: readSetting("sslKeyFile"), appModule: app };
  const log = createLogger(logSettings, { role: "dev" });
  const pretty = writesPrettyLogs(logSettings.logFormat) ? prettifier({ tls: logSettings.sslKeyFile !== undefined, appModule: app }) : undefined;
  const show = (record: LogRecord, line: string) => void process.stdout.write(pretty ? pretty(record) : `${line}\n`);

  let runtime: Runtime | undefined;
  let stopping = false;
  let busy = false;
  let pending: Set<string> | undefined;

  const startRuntime = async (): Promise<void> => {
    const started = createRuntime({ app, env: process.env });
    started.on("log", show);
    started.on("output", (line) => void process.stdout.write(`${line}\n`));
    started.on("stderr", (text) => void process.stderr.write(text));
    started.on("exit", (code) => {
      if (runtime === started) runtime = undefined;
      if (!stopping) log.error({ event: "runtime-exit", code }, `the runtime stopped (exit code ${code}); it starts again on the next change`);
    });
    runtime = started;
    try {
      await started.start();
    } catch (err) {
      log.error({ event: "start-failed" }, `the runtime did not start: ${(err as Error).message}`);
    }
  };

  /** Checks the module, then starts the runtime or rolls its workers; again while changes came meanwhile. */
  const apply = async (files: string[]): Promise<void> => {
    if (busy) {
      pending ??= new Set();
      for (const file of files) pending.add(file);
      return;
    }
    busy = true;
    try {
      for (let next: string[] | undefined = files; next && !stopping; next = pending && [...pending]) {
        pending = undefined;
        const changed = next.join(", ");
        const problem = await checkApplication(app);
        if (stopping) return;
        if (problem) {
          log.error({ event: "check-failed", files: next, error: problem }, `${path.relative(process.cwd(), app)} does not load:\n${problem}\n${runtime ? "the workers keep running the previous version; they roll" : "the runtime starts"} once it loads`);
          continue;
        }
        if (!runtime) {
          await startRuntime();
          continue;
        }
        const started = Date.now();
        log.info({ event: "reload", files: next }, `${changed} changed: rolling the workers (clients stay connected)`);
        try {
          await runtime.reload();
          const ms = Date.now() - started;
          log.info({ event: "reloaded", files: next, ms }, `workers replaced in ${(ms / 1000).toFixed(1)} s: they run the new code; their clients reconnected and recovered their sessions`);
        } catch (err) {
          if (!stopping) log.error({ event: "reload-failed", files: next }, (err as Error).message);
        }
      }
    } finally {
      busy = false;
    }
  };

  const roots = options.watch.length > 0 ? options.watch.map((p) => path.resolve(p)) : [projectFolder(app)];
  const watcher = new SourceWatcher(roots, (files) => void apply(files));
  log.info({ event: "watch", roots, folders: watcher.size }, `watching ${roots.map((r) => path.relative(process.cwd(), r) || ".").join(", ")}: a change rolls the workers`);

  const exited = new Promise<number>((resolve) => {
    const stop = async (signal: NodeJS.Signals) => {
      if (stopping) {
        // a second Ctrl-C: no more waiting for the drain
        if (runtime?.pid !== undefined) process.kill(runtime.pid, "SIGKILL");
        resolve(130);
        return;
      }
      stopping = true;
      debug("%s: stopping", signal);
      watcher.close();
      const code = (await runtime?.stop()) ?? 0;
      resolve(code ?? 0);
    };
    process.on("SIGINT", () => void stop("SIGINT"));
    process.on("SIGTERM", () => void stop("SIGTERM"));
  });
  void apply([path.relative(process.cwd(), app)]);
  return exited;
}
