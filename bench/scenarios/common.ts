import type { Answer, Fleet } from "../load/fleet";
import type { ConnectResult, ReceiveResult } from "../load/messages";
import type { Usage } from "../load/usage";
import { Histogram, type Percentiles } from "../lib/percentiles";
import { cpuSecondsOf, LoadMeter, sleep } from "../lib/processes";
import type { Progress } from "../lib/progress";
import type { RunningSystem } from "../systems/types";
import type { GeneratorLoad, PhaseLoad } from "./types";

/** `total` split over `parts` as evenly as possible. */
export const split = (total: number, parts: number): number[] =>
  Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));

export function generatorLoad(usages: Usage[]): GeneratorLoad {
  return {
    cpuMax: Math.max(0, ...usages.map((u) => u.cpu)),
    lagP99MaxMs: Math.max(0, ...usages.map((u) => u.lagP99Ms)),
    saturated: usages.some((u) => u.saturated),
  };
}

/** Runs `phase` while measuring the server's CPU; returns its result and the phase's load. */
export async function measured<T>(
  system: RunningSystem,
  fleet: Fleet,
  phase: () => Promise<Array<Answer<unknown>>>,
  then: (answers: Array<Answer<unknown>>) => T,
): Promise<{ value: T; load: PhaseLoad }> {
  const meter = new LoadMeter(await system.pids(), fleet.pids());
  const answers = await phase();
  return { value: then(answers), load: { generator: generatorLoad(answers.map((a) => a.usage)), ...meter.read() } };
}

/**
 * Source addresses for `count` connections to one server address: none (the kernel picks the
 * port at connect(), and may reuse ports in TIME_WAIT) while one address has ports enough;
 * beyond, loopback addresses from 127.0.0.2 on, 5,000 connections each. An explicit bind() must
 * find a port in no use at all (TIME_WAIT included), which gets slow as the range fills up.
 */
export function sourceAddresses(count: number): string[] {
  if (count <= 20_000) return [];
  return Array.from({ length: Math.ceil(count / 5000) }, (_, i) => `127.0.0.${i + 2}`);
}

export interface RampFigures {
  clients: number;
  connected: number;
  failed: number;
  errors: string[];
  seconds: number;
  ratePerSec: number;
  connectLatency: Percentiles;
  /** Default clients: HTTP requests (handshake, POSTs, long-polls) per connection. */
  httpRequestsPerClient?: number;
  /** Default clients: long-poll GETs per connection. */
  pollsPerClient?: number;
}

/** Connects `count` clients over the fleet (in parallel, `concurrency` at a time per generator). */
export async function connectClients(
  fleet: Fleet,
  system: RunningSystem,
  progress: Progress,
  count: number,
  transport: "websocket" | "polling",
  options: { concurrency?: number; timeoutMs?: number; counts?: number[] } = {},
): Promise<{ figures: RampFigures; load: PhaseLoad }> {
  const counts = options.counts ?? split(count, fleet.size);
  const total = counts.reduce((a, b) => a + b, 0);
  const addresses = sourceAddresses(total);
  const ticker = setInterval(() => progress.update(fleet.progress()), 250);
  const start = process.hrtime.bigint();
  try {
    const { value, load } = await measured(
      system,
      fleet,
      () =>
        fleet.each(
          (g) => ({
            cmd: "connect",
            host: "127.0.0.1",
            port: system.port,
            count: counts[g]!,
            transport,
            localAddresses: addresses,
            concurrency: options.concurrency ?? 64,
            timeoutMs: options.timeoutMs ?? 10_000,
          }),
          600_000,
        ),
      (answers) => answers.map((a) => a.result as ConnectResult),
    );
    const connected = value.reduce((s, r) => s + r.connected, 0);
    const failed = value.reduce((s, r) => s + r.failed, 0);
    // with failures, the ramp ends with the last success (a failure only ends with its timeout)
    const seconds = failed > 0 ? Math.max(...value.map((r) => r.lastSuccessMs)) / 1000 : Number(process.hrtime.bigint() - start) / 1e9;
    return {
      figures: {
        clients: total,
        connected,
        failed,
        errors: [...new Set(value.flatMap((r) => r.errors))].slice(0, 5),
        seconds: round(seconds, 3),
        ratePerSec: round(connected / seconds, 1),
        connectLatency: Histogram.from(value.map((r) => r.latency)).percentilesMs(),
        ...(transport === "polling"
          ? {
              httpRequestsPerClient: round(value.reduce((s, r) => s + r.httpRequests, 0) / Math.max(1, total), 2),
              pollsPerClient: round(value.reduce((s, r) => s + r.polls, 0) / Math.max(1, total), 2),
            }
          : {}),
      },
      load,
    };
  } finally {
    clearInterval(ticker);
  }
}

/** Polls the receivers until their count stops growing (or `maxMs`); returns their last answers. */
export async function drainReceivers(fleet: Fleet, quietMs: number, maxMs: number, expected?: number): Promise<Array<Answer<ReceiveResult>>> {
  const deadline = Date.now() + maxMs;
  let last = -1;
  let stableSince = Date.now();
  let answers: Array<Answer<ReceiveResult>> = [];
  while (true) {
    answers = await fleet.all<ReceiveResult>({ cmd: "received" });
    const total = answers.reduce((s, a) => s + a.result.received, 0);
    if (expected !== undefined && total >= expected) return answers;
    if (total !== last) {
      last = total;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= quietMs) {
      return answers;
    }
    if (Date.now() >= deadline) return answers;
    await sleep(100);
  }
}

export const round = (n: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/**
 * Waits until the server is idle again (below 0.1 core for a second, at most `maxMs`): how long
 * its processes stay busy after, say, every client left, and the CPU time that took.
 */
export async function untilIdle(system: RunningSystem, maxMs: number): Promise<{ seconds: number; cpuSeconds: number; reachedIdle: boolean }> {
  const pids = await system.pids();
  const start = Date.now();
  const startCpu = pids.reduce((s, pid) => s + cpuSecondsOf(pid), 0);
  let quiet = 0;
  let last = startCpu;
  while (Date.now() - start < maxMs) {
    await sleep(500);
    const now = pids.reduce((s, pid) => s + cpuSecondsOf(pid), 0);
    quiet = now - last < 0.05 ? quiet + 1 : 0;
    last = now;
    if (quiet >= 2) return { seconds: round((Date.now() - start) / 1000 - 1, 1), cpuSeconds: round(now - startCpu, 2), reachedIdle: true };
  }
  return { seconds: round((Date.now() - start) / 1000, 1), cpuSeconds: round(last - startCpu, 2), reachedIdle: false };
}

export async function closeAll(fleet: Fleet): Promise<void> {
  await fleet.all({ cmd: "close" }, 60_000);
}
