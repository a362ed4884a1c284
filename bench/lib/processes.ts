import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import createDebug from "debug";

const debug = createDebug("bench:proc");
const CLOCK_TICKS = 100; // USER_HZ on Linux

/**
 * Spawns `node <args>` through bash, after raising the soft open-file limit to the hard one
 * (`ulimit -n`), so that a process can hold as many sockets as this machine allows. `exec`
 * keeps the PID: the child's PID is node's.
 */
export function spawnNode(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions; cwd?: string; nodeArgs?: string[] },
): ChildProcess {
  const quoted = [process.execPath, ...(options.nodeArgs ?? []), ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`);
  const child = spawn("bash", ["-c", `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${quoted.join(" ")}`], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: options.stdio ?? ["ignore", "pipe", "pipe"],
  });
  debug("spawned %d: %s", child.pid, args.join(" "));
  return child;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to `pid` if it still exists. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Stops a server: SIGTERM to `pid`, then SIGKILL to it and to `others` (its workers) once
 * `timeoutMs` passed. Every process is addressed by its PID.
 */
export async function stopProcess(pid: number, others: number[] = [], timeoutMs = 10_000): Promise<void> {
  signal(pid, "SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && [pid, ...others].some(isAlive)) await sleep(50);
  for (const p of [pid, ...others]) {
    if (isAlive(p)) {
      debug("SIGKILL %d", p);
      signal(p, "SIGKILL");
    }
  }
}

/** Resident set size of `pid` in bytes (0 when it is gone). */
export function rssOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Write system calls and bytes written so far by `pid` (`syscw` and `wchar` of /proc/<pid>/io:
 * write and writev, which is how Node writes to its IPC channels and pipes; `sendmsg`, used for
 * a message that carries a handle, is not counted).
 */
export function writesOf(pid: number): { calls: number; bytes: number } {
  try {
    const io = readFileSync(`/proc/${pid}/io`, "utf8");
    return { calls: Number(/syscw:\s+(\d+)/.exec(io)?.[1] ?? 0), bytes: Number(/wchar:\s+(\d+)/.exec(io)?.[1] ?? 0) };
  } catch {
    return { calls: 0, bytes: 0 };
  }
}

/** The direct children of `pid` (from /proc). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** CPU time (user + system) used so far by `pid`, in seconds. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Busy CPU time of the whole machine so far (all cores, seconds), from /proc/stat. */
export function machineBusySeconds(): number {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - idle) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** CPU use of a group of processes over an interval, as a share of one core (1 = one full core). */
export class CpuMeter {
  private startCpu: number;
  private startAt = process.hrtime.bigint();

  constructor(private readonly pids: number[]) {
    this.startCpu = this.total();
  }

  private total(): number {
    return this.pids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
  }

  /** Cores used on average since the meter started. */
  cores(): number {
    const wall = Number(process.hrtime.bigint() - this.startAt) / 1e9;
    return wall > 0 ? (this.total() - this.startCpu) / wall : 0;
  }
}

/**
 * The CPU of a measured phase: the server's processes, and everything on the machine that is
 * neither the server nor the bench (another busy process skews every figure).
 */
export class LoadMeter {
  private readonly server: CpuMeter;
  private readonly bench: CpuMeter;
  private readonly machineStart = machineBusySeconds();
  private readonly startAt = process.hrtime.bigint();

  constructor(serverPids: number[], benchPids: number[]) {
    this.server = new CpuMeter(serverPids);
    this.bench = new CpuMeter([process.pid, ...benchPids]);
  }

  read(): { serverCpu: number; otherCpu: number } {
    const wall = Number(process.hrtime.bigint() - this.startAt) / 1e9;
    const machine = wall > 0 ? (machineBusySeconds() - this.machineStart) / wall : 0;
    const serverCpu = this.server.cores();
    const otherCpu = Math.max(0, machine - serverCpu - this.bench.cores());
    return { serverCpu: Math.round(serverCpu * 100) / 100, otherCpu: Math.round(otherCpu * 100) / 100 };
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A free TCP port on 127.0.0.1. */
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

/** Rejects after `ms` with `what` in the message. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${Math.round(ms / 1000)} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
