import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { followJsonLines } from "../../bench/lib/json-lines";
import type { LogRecord } from "./server";
import { stopChild } from "./stop-child";

/** A command run as a child process whose stdout is JSON lines (the runtime's, `dev`'s). */
export interface RunningCommand {
  child: ChildProcess;
  records: LogRecord[];
  /** stdout lines that are not JSON, and stderr. */
  output: string[];
  /** The first record matching `predicate`, from `from` on (an index in `records`; default 0). */
  waitFor(predicate: (record: LogRecord) => boolean, timeoutMs?: number, from?: number): Promise<LogRecord>;
  /** SIGTERM, then its exit code; SIGKILL for it and every worker PID its records named after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Commands started and not stopped yet (stopped by {@link stopCommands}). */
const started = new Set<RunningCommand>();

/** Environment with the node that runs the tests first on PATH (what `#!/usr/bin/env node` finds). */
export function nodeEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ""}`, ...extra };
}

/** Runs `file args` in `cwd`, following its JSON lines. */
export function runCommand(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): RunningCommand {
  const child = spawn(file, args, { cwd: options.cwd, env: nodeEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
  const records: LogRecord[] = [];
  const output: string[] = [];
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };
  followJsonLines(
    child.stdout!,
    (record) => (records.push(record as LogRecord), wake()),
    (line) => (output.push(line), wake()),
  );
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => output.push(chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const said = () => output.join("\n").slice(-3000);

  const command: RunningCommand = {
    child,
    records,
    output,
    exited,
    waitFor(predicate, timeoutMs = 60_000, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = records.slice(from).find(predicate);
          if (!found) return;
          done();
          resolve(found);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for a record; output: ${said()}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        void exited.then((code) => {
          if (!waiters.has(check)) return;
          done();
          reject(new Error(`${path.basename(file)} exited (${code}) before the awaited record; output: ${said()}`));
        });
        check();
      });
    },
    async stop(timeoutMs = 30_000) {
      const pids = records.filter((r) => r.event === "worker-start" || (r.role === "primary" && r.event === "start")).map((r) => r.pid as number);
      const code = await stopChild(child, exited, pids, timeoutMs);
      started.delete(command);
      return code;
    },
  };
  started.add(command);
  void exited.then(() => started.delete(command));
  return command;
}

/** Stops every command still running (after a failed test), by PID. */
export async function stopCommands(): Promise<void> {
  await Promise.all([...started].map((command) => command.stop(5000)));
}
