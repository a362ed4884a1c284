import path from "node:path";
import type { RunningServer } from "../server";

/** NODE_OPTIONS that make the server's processes run a full GC on SIGURG. */
export function gcHookNodeOptions(): string {
  return `${process.env.NODE_OPTIONS ?? ""} --require ${path.join(__dirname, "gc-hook.cjs")}`.trim();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Memory of the server's processes (bytes), from GET /metrics. */
export interface Memory {
  workerRss: number;
  workerHeap: number;
  primaryRss: number;
  primaryHeap: number;
}

/** RSS and used heap of the workers (summed) and of the primary, as GET /metrics reports them. */
export async function memory(server: RunningServer): Promise<Memory> {
  const text = await (await fetch(`${server.adminUrl}/metrics`)).text();
  const result: Memory = { workerRss: 0, workerHeap: 0, primaryRss: 0, primaryHeap: 0 };
  for (const line of text.split("\n")) {
    const match = /^(process_resident_memory_bytes|nodejs_heap_size_used_bytes)\{worker="([^"]+)"\} (\S+)$/.exec(line);
    if (!match) continue;
    const primary = match[2] === "primary";
    const value = Number(match[3]);
    if (match[1] === "process_resident_memory_bytes") primary ? (result.primaryRss += value) : (result.workerRss += value);
    else primary ? (result.primaryHeap += value) : (result.workerHeap += value);
  }
  return result;
}

/**
 * {@link memory} after a forced full GC in every process (the server must run with
 * {@link gcHookNodeOptions}), once the workers' RSS stops moving.
 */
export async function settledMemory(server: RunningServer): Promise<Memory> {
  let last: Memory | undefined;
  for (let round = 0; round < 12; round++) {
    for (const pid of [server.child.pid!, ...server.workerPids()]) process.kill(pid, "SIGURG");
    await sleep(300);
    const now = await memory(server);
    if (last && round >= 2 && Math.abs(now.workerRss - last.workerRss) < 2 * 1024 * 1024) return now;
    last = now;
  }
  return last!;
}

export const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
