import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { statSync } from "node:fs";
import path from "node:path";
import createDebug from "debug";
import { readSetting } from "../config/env";
import { SETTINGS, type Config } from "../config/settings";
import type { LogRecord } from "../log/pretty";

const debug = createDebug("runtime:embed");

/** The package's event console: a page that shows and emits any event (`console/index.html`). */
export const CONSOLE_DIR = path.join(__dirname, "..", "..", "console");

/**
 * The static files of a runtime started in `cwd` whose `PUBLIC_DIR` is unset: the project's
 * `./public` when it is a folder; else, for an application module, the event console; else
 * `undefined` (the setting's default, the built-in application's pages).
 */
export function defaultPublicDir(cwd: string, appModule: boolean): string | undefined {
  const local = path.resolve(cwd, "public");
  if (statSync(local, { throwIfNoEntry: false })?.isDirectory()) return local;
  return appModule ? CONSOLE_DIR : undefined;
}

/** The command line entry (`dist/cli/main.js`), which the runtime's processes run. */
export const CLI_ENTRY = path.join(__dirname, "..", "cli", "main.js");

/** A setting's value as {@link createRuntime} takes it: its text, a number, or a list (joined with commas). */
export type SettingValue = string | number | readonly string[];

/** Settings by their {@link Config} name (`{ port: 4000, workers: 2, logLevel: "debug" }`). */
export type RuntimeSettings = { [K in keyof Config]?: SettingValue };

/** What {@link createRuntime} starts. */
export interface RuntimeOptions {
  /**
   * The application module: TypeScript or JavaScript, exporting `defineApp(...)`; relative to
   * `cwd`. Default: none, the built-in application named by `APP`.
   */
  app?: string;
  /** Settings; each becomes its environment variable and wins over `env`. Default: none. */
  settings?: RuntimeSettings;
  /** The environment of the runtime's processes. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Working directory of the runtime. Default: `process.cwd()`. */
  cwd?: string;
  /** Node.js options of the runtime's processes (`["--inspect"]`). Default: none. */
  execArgv?: string[];
}

/** A running (or starting, or stopped) runtime: one primary process and its workers. */
export interface Runtime extends EventEmitter {
  /** The URL clients connect to (`http://127.0.0.1:3000` for `HOST=0.0.0.0`). */
  readonly url: string;
  /** The primary's PID, once started. */
  readonly pid: number | undefined;
  /** The records the runtime logged so far (the last 10,000). */
  readonly records: readonly LogRecord[];
  /** Starts the runtime; resolves once every worker listens. Rejects, with its message, if it exits first. */
  start(timeoutMs?: number): Promise<void>;
  /**
   * Rolls the workers (SIGHUP): each is replaced by a new one that loads the application again;
   * clients recover their sessions. Resolves when the last one is replaced.
   */
  reload(timeoutMs?: number): Promise<void>;
  /** Stops the runtime (SIGTERM: drain, then exit); SIGKILLs it and its workers after `timeoutMs`. Resolves its exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** The first record (seen already, or to come) matching `predicate`. Rejects after `timeoutMs` or when the runtime exits. */
  waitForLog(predicate: (record: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  on(event: "log", listener: (record: LogRecord, line: string) => void): this;
  on(event: "output", listener: (line: string) => void): this;
  on(event: "stderr", listener: (text: string) => void): this;
  on(event: "exit", listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
}

/** The environment variables of `settings`. */
function settingsEnv(settings: RuntimeSettings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(settings) as [keyof Config, SettingValue | undefined][]) {
    if (value === undefined) continue;
    env[SETTINGS[key].env] = typeof value === "object" ? value.join(",") : String(value);
  }
  return env;
}

/** Where a client reaches the runtime: a wildcard address becomes loopback. */
function urlOf(env: NodeJS.ProcessEnv): string {
  const host = readSetting("host", env);
  const shown = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host;
  return `${readSetting("sslKeyFile", env) ? "https" : "http"}://${shown}:${readSetting("port", env)}`;
}

const MAX_RECORDS = 10_000;

class RuntimeProcess extends EventEmitter implements Runtime {
  readonly url: string;
  readonly records: LogRecord[] = [];
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  private readonly env: NodeJS.ProcessEnv;

  constructor(private readonly options: RuntimeOptions) {
    super();
    const cwd = options.cwd ?? process.cwd();
    const env: NodeJS.ProcessEnv = {
      ...(options.env ?? process.env),
      ...settingsEnv(options.settings ?? {}),
      ...(options.app ? { APP_MODULE: path.resolve(cwd, options.app) } : {}),
      // the records are read here: JSON lines whatever the caller's terminal
      LOG_FORMAT: "json",
    };
    env.PUBLIC_DIR ||= defaultPublicDir(cwd, Boolean(env.APP_MODULE));
    this.env = env;
    this.url = urlOf(this.env);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    if (this.child) throw new Error("this runtime was started already");
    const stderr: string[] = [];
    const child = spawn(process.execPath, [...(this.options.execArgv ?? []), CLI_ENTRY, "start", "--exit-on-stdin-close"], {
      cwd: this.options.cwd ?? process.cwd(),
      env: this.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child = child;
    debug("runtime %d started: %s", child.pid, this.env.APP_MODULE ?? `APP=${this.env.APP ?? "chat"}`);
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        this.emit("exit", code, signal);
        resolve(code);
      }),
    );
    let buffer = "";
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf("\n")) !== -1) {
        this.line(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
      }
    });
    child.stderr!.setEncoding("utf8").on("data", (text: string) => {
      if (stderr.length < 100) stderr.push(text);
      this.emit("stderr", text);
    });
    try {
      await this.waitForLog((record) => record.event === "listen" && record.role === "primary", timeoutMs);
    } catch (err) {
      await this.stop(5000);
      const said = stderr.join("").trim();
      throw new Error(said ? said.split("\n").slice(-20).join("\n") : (err as Error).message);
    }
  }

  private line(text: string): void {
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      record = undefined;
    }
    if (record === null || typeof record !== "object") {
      this.emit("output", text);
      return;
    }
    this.records.push(record as LogRecord);
    if (this.records.length > MAX_RECORDS) this.records.shift();
    this.emit("log", record, text);
  }

  waitForLog(predicate: (record: LogRecord) => boolean, timeoutMs = 30_000): Promise<LogRecord> {
    const seen = this.records.find(predicate);
    if (seen) return Promise.resolve(seen);
    return this.next(predicate, timeoutMs);
  }

  /** The first record to come matching `predicate`. */
  private next(predicate: (record: LogRecord) => boolean, timeoutMs: number): Promise<LogRecord> {
    return new Promise((resolve, reject) => {
      const onLog = (record: LogRecord) => {
        if (!predicate(record)) return;
        done();
        resolve(record);
      };
      const onExit = (code: number | null) => {
        done();
        reject(new Error(`the runtime exited (code ${code}) before the awaited record`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no such record within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.off("log", onLog);
        this.off("exit", onExit);
      };
      this.on("log", onLog);
      this.on("exit", onExit);
      if (!this.running()) onExit(this.child?.exitCode ?? null);
    });
  }

  private running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async reload(timeoutMs = 120_000): Promise<void> {
    if (!this.running()) throw new Error("the runtime is not running");
    const finished = this.next((record) => record.event === "rolling-restart-done" || record.event === "rolling-restart-failed", timeoutMs);
    this.child!.kill("SIGHUP");
    const record = await finished;
    if (record.event === "rolling-restart-failed") throw new Error(`the rolling restart stopped: ${String(record.msg)}`);
  }

  /** PIDs of the workers alive according to the records. */
  private workerPids(): number[] {
    const alive = new Map<number, number>();
    for (const record of this.records) {
      if (record.role !== "primary") continue;
      if (record.event === "worker-start") alive.set(record.worker as number, record.pid as number);
      if (record.event === "worker-exit") alive.delete(record.worker as number);
    }
    return [...alive.values()];
  }

  async stop(timeoutMs = 30_000): Promise<number | null> {
    const child = this.child;
    if (!child || !this.exited) return null;
    if (!this.running()) return this.exited;
    const workers = this.workerPids();
    debug("stopping runtime %d", child.pid);
    child.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const pid of [child.pid, ...workers]) {
        try {
          if (pid !== undefined) process.kill(pid, "SIGKILL");
        } catch {
          // gone already
        }
      }
    }, timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/**
 * A runtime to start from a program: the cluster runs in processes of its own (a primary and its
 * workers, as `uws-socketio-cluster start` runs them), controlled from here, and stops when this
 * process ends. Its log records arrive as `log` events.
 *
 * ```ts
 * const runtime = createRuntime({ app: "src/app.ts", settings: { port: 4000, workers: 2 } });
 * await runtime.start();   // every worker listens at runtime.url
 * await runtime.reload();  // new code, clients keep their sessions
 * await runtime.stop();
 * ```
 * @throws ConfigError when `port`, `host` or `sslKeyFile` is invalid (the others are checked by `start`).
 */
export function createRuntime(options: RuntimeOptions = {}): Runtime {
  return new RuntimeProcess(options);
}
