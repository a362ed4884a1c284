import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { LOAD_FROM_ONE_ADDRESS, ROOT, type LogRecord } from "./server";

/** pm2's CLI from the project's dependencies (what `npx pm2` runs). */
export const PM2_BIN = path.join(ROOT, "node_modules", "pm2", "bin", "pm2");

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** What `pm2 jlist` says about one app. */
export interface Pm2Process {
  name: string;
  pid: number;
  status: string;
  execMode: string;
  restarts: number;
}

/**
 * A pm2 of our own: its own `PM2_HOME` (daemon, sockets, pid file) and log folder in a temp
 * folder, so it never sees or touches another pm2 on the machine. `kill()` stops its daemon only.
 * Commands run in `project`: a fresh copy of the project as a checkout plus `npm install` leaves
 * it (sources, `node_modules`, no `dist/`), so that the ecosystem file's own build is exercised
 * and nobody's concurrent `npm run build` of the working tree changes the code under test.
 */
export interface Pm2 {
  /** The project copy pm2 runs from. */
  project: string;
  home: string;
  logDir: string;
  outLog: string;
  /** Environment every command runs with (the app inherits it, as from a shell). */
  env: NodeJS.ProcessEnv;
  /** Runs `pm2 <args>` (`npx pm2 <args>` with `npx: true`), killed after `timeoutMs`. */
  run(args: string[], options?: { npx?: boolean; timeoutMs?: number }): Promise<CommandResult>;
  jlist(): Promise<Pm2Process[]>;
  /** JSON lines of the app's stdout log file (every primary and worker, merged). */
  logs(): LogRecord[];
  waitForLog(predicate: (record: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  daemonPid(): number | undefined;
  /** `pm2 kill` (this PM2_HOME only), then removes the temp folder. */
  kill(): Promise<void>;
}

/** Copies what a checkout holds (not tests, benchmarks, dist/) into `to`; links node_modules. */
export function copyProject(to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of ["ecosystem.config.js", "package.json", "tsconfig.json", "src", "public"]) {
    cpSync(path.join(ROOT, entry), path.join(to, entry), { recursive: true, preserveTimestamps: true });
  }
  symlinkSync(path.join(ROOT, "node_modules"), path.join(to, "node_modules"), "dir");
}

export function createPm2(appEnv: Record<string, string>): Pm2 {
  const root = mkdtempSync(path.join(os.tmpdir(), "pm2-test-"));
  const project = path.join(root, "project");
  copyProject(project);
  const home = path.join(root, "pm2-home");
  mkdirSync(home);
  const logDir = path.join(root, "logs");
  // pm2 asks version.pm2.io for its latest version the first time it runs in a PM2_HOME (when
  // `touch` is missing) and once a day in the daemon: neither, here.
  writeFileSync(path.join(home, "touch"), String(Date.now()));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PM2_HOME: home,
    PM2_LOG_DIR: logDir,
    PM2_DISABLE_VERSION_CHECK: "true",
    ...LOAD_FROM_ONE_ADDRESS,
    ...appEnv,
  };
  const outLog = path.join(logDir, "socketio-runtime.out.log");

  const run = (args: string[], options: { npx?: boolean; timeoutMs?: number } = {}) =>
    new Promise<CommandResult>((resolve) => {
      const started = Date.now();
      const [command, argv] = options.npx ? ["npx", ["pm2", ...args]] : [process.execPath, [PM2_BIN, ...args]];
      const child = spawn(command, argv, { cwd: project, env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      });
    });

  const logs = (): LogRecord[] => {
    if (!existsSync(outLog)) return [];
    const records: LogRecord[] = [];
    for (const line of readFileSync(outLog, "utf8").split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        records.push(JSON.parse(line) as LogRecord);
      } catch {
        // a line being written
      }
    }
    return records;
  };

  return {
    project,
    home,
    logDir,
    outLog,
    env,
    run,
    async jlist() {
      const result = await run(["jlist"]);
      const line = result.stdout.split("\n").find((l) => l.startsWith("[{") || l.startsWith("[]"));
      if (!line) throw new Error(`pm2 jlist: no JSON (${result.code}): ${result.stdout}${result.stderr}`);
      const list = JSON.parse(line) as Array<{
        name: string;
        pid: number;
        pm2_env: { status: string; exec_mode: string; restart_time: number };
      }>;
      return list.map((p) => ({
        name: p.name,
        pid: p.pid,
        status: p.pm2_env.status,
        execMode: p.pm2_env.exec_mode,
        restarts: p.pm2_env.restart_time,
      }));
    },
    logs,
    async waitForLog(predicate, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = logs().find(predicate);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`timed out waiting for a log record in ${outLog}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    daemonPid() {
      try {
        return Number(readFileSync(path.join(home, "pm2.pid"), "utf8").trim()) || undefined;
      } catch {
        return undefined;
      }
    },
    async kill() {
      if (existsSync(path.join(home, "pm2.pid"))) await run(["kill"]);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * Whether the process has exited. A zombie counts as gone: the pm2 daemon is re-parented to
 * PID 1, which in some containers never reaps it.
 */
export function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }
}
