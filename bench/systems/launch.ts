import type { ChildProcess } from "node:child_process";
import createDebug from "debug";
import { followJsonLines } from "../lib/json-lines";
import { rssOf, signal, sleep, spawnNode, stopProcess } from "../lib/processes";
import type { RunningSystem } from "./types";

const debug = createDebug("bench:system");

export type LogLine = Record<string, unknown>;

export interface Launched {
  child: ChildProcess;
  lines: LogLine[];
  stderr: string[];
  /** Resolves with the first stdout JSON line matching `predicate`; rejects on exit or timeout. */
  waitFor(predicate: (line: LogLine) => boolean, timeoutMs: number): Promise<LogLine>;
}

/** Starts `node <script>` (open-file limit raised) and follows its JSON lines on stdout. */
export function launch(script: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Launched {
  const child = spawnNode([script], { env, nodeArgs, stdio: ["ignore", "pipe", "pipe"] });
  const lines: LogLine[] = [];
  const stderr: string[] = [];
  const waiters = new Set<{ predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void }>();
  followJsonLines(child.stdout!, (line) => {
    if (lines.length < 10_000) lines.push(line);
    for (const waiter of waiters) {
      if (waiter.predicate(line)) {
        waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    debug("stderr %d: %s", child.pid, chunk.trim());
    if (stderr.length < 200) stderr.push(chunk);
  });
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code, sig) =>
      reject(new Error(`server exited (code ${code}, signal ${sig}): ${stderr.join("").slice(-800)}`)),
    ),
  );
  exited.catch(() => undefined);
  return {
    child,
    lines,
    stderr,
    waitFor(predicate, timeoutMs) {
      const seen = lines.find(predicate);
      if (seen) return Promise.resolve(seen);
      let timer: NodeJS.Timeout | undefined;
      let entry: { predicate: (line: LogLine) => boolean; resolve: (line: LogLine) => void } | undefined;
      return Promise.race([
        new Promise<LogLine>((resolve) => {
          entry = { predicate, resolve };
          waiters.add(entry);
        }),
        exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`server not ready within ${timeoutMs} ms: ${stderr.join("").slice(-800)}`)), timeoutMs);
        }),
      ]).finally(() => {
        clearTimeout(timer);
        if (entry) waiters.delete(entry);
      });
    },
  };
}

/** Runs a full GC in every process and waits until their RSS settles. */
export async function gcAll(pids: number[]): Promise<void> {
  for (const pid of pids) signal(pid, "SIGURG");
  let last = pids.map(rssOf);
  for (let i = 0; i < 40; i++) {
    await sleep(125);
    const now = pids.map(rssOf);
    const settled = now.every((rss, k) => Math.abs(rss - last[k]!) < 256 * 1024);
    last = now;
    if (settled && i >= 3) return;
  }
}

/** A RunningSystem for a launched server whose PIDs are known. */
export function runningSystem(
  launched: Launched,
  port: number,
  workers: number,
  pids: () => Promise<number[]>,
  notes: string[] = [],
): RunningSystem {
  let known: number[] = [launched.child.pid!];
  const allPids = async () => {
    known = await pids();
    return known;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    workers,
    pids: allPids,
    gc: async () => gcAll(await allPids()),
    notes,
    stop: async () => {
      const [primary, ...rest] = known;
      await stopProcess(primary ?? launched.child.pid!, rest, 15_000);
    },
  };
}
