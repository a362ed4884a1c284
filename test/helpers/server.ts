import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { followJsonLines } from "../../bench/lib/json-lines";
import type { ClusterStats } from "../../src/runtime/metrics/report";
import type { WorkerStats } from "../../src/runtime/metrics/report";
import { stopChild } from "./stop-child";

export const ROOT = path.resolve(__dirname, "..", "..");
export const MAIN = path.join(ROOT, "dist", "main.js");

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface LogRecord {
  level: number;
  event?: string;
  msg?: string;
  worker?: number;
  pid?: number;
  [key: string]: unknown;
}

export interface RunningServer {
  port: number;
  url: string;
  /** The admin listener (`ADMIN_PORT`, the primary): `/stats`, `/metrics`, `/admin-ui/`. */
  adminUrl: string;
  child: ChildProcess;
  logs: LogRecord[];
  stderr: string[];
  /** Resolves with the first log record matching `predicate` (already seen or future). */
  waitForLog(predicate: (record: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  /** GET /stats (on the admin port) */
  stats(): Promise<ClusterStatsView>;
  /** SIGTERM the primary; resolves with its exit code; SIGKILLs it (and its workers) after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** PIDs of the workers currently known from the logs. */
  workerPids(): number[];
}

/** What `GET /stats` answers (the runtime's own types). */
export type ClusterStatsView = ClusterStats;
export type WorkerStatsView = WorkerStats;

export interface StartOptions {
  workers?: number;
  engine?: "uws" | "node";
  app?: string;
  env?: Record<string, string>;
  port?: number;
  /** Wait for "all workers listening" (default true). */
  waitReady?: boolean;
}

/**
 * Limits that a load from a single address (every test client is on 127.0.0.1) would trip:
 * switched off by default in tests, which set them explicitly where they test them.
 */
export const LOAD_FROM_ONE_ADDRESS = { MAX_CONNECTIONS_PER_IP: "0", CONNECTION_RATE: "0", EVENT_RATE: "0" } as const;

/** Servers started by this test file and not stopped yet (stopped by test/setup.ts after the file). */
export const running = new Set<RunningServer>();

/** Starts the real server (`node dist/main.js`) as a child process on a free port. */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const port = options.port ?? (await freePort());
  const adminPort = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      ADMIN_PORT: String(adminPort),
      WORKERS: String(options.workers ?? 4),
      ENGINE: options.engine ?? "uws",
      APP: options.app ?? "echo",
      LOG_LEVEL: "info",
      // every client of a test comes from 127.0.0.1: the per-address limits are tested on their own
      ...LOAD_FROM_ONE_ADDRESS,
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: LogRecord[] = [];
  const stderr: string[] = [];
  const waiters: Array<{ predicate: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }> = [];
  followJsonLines(child.stdout!, (record) => {
    logs.push(record as LogRecord);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(record as LogRecord)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(record as LogRecord);
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const waitForLog = (predicate: (r: LogRecord) => boolean, timeoutMs = 30_000) => {
    const seen = logs.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogRecord>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.splice(waiters.findIndex((w) => w.resolve === done), 1);
        reject(new Error(`timed out waiting for a log record; stderr: ${stderr.join("")}`));
      }, timeoutMs);
      const done = (record: LogRecord) => {
        clearTimeout(timer);
        resolve(record);
      };
      waiters.push({ predicate, resolve: done });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code}) before the awaited log; stderr: ${stderr.join("")}`));
      });
    });
  };

  const server: RunningServer = {
    port,
    url: `http://127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    child,
    logs,
    stderr,
    waitForLog,
    async stats() {
      const response = await fetch(`http://127.0.0.1:${adminPort}/stats`);
      return (await response.json()) as ClusterStatsView;
    },
    async stop(timeoutMs = 30_000) {
      const code = await stopChild(child, exited, server.workerPids(), timeoutMs);
      running.delete(server);
      return code;
    },
    workerPids() {
      const alive = new Map<number, number>();
      for (const record of logs) {
        if (record.event === "worker-start") alive.set(record.worker as number, record.pid as number);
        if (record.event === "worker-exit") alive.delete(record.worker as number);
      }
      return [...alive.values()];
    },
  };
  running.add(server);
  void exited.then(() => running.delete(server));
  if (options.waitReady !== false) {
    try {
      await waitForLog((r) => r.event === "listen" && r.role === "primary");
    } catch (err) {
      await server.stop();
      throw err;
    }
  }
  return server;
}
