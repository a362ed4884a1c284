import type { ReceiveResult, ShoutResult, StatusResult } from "../load/messages";
import { rssOf, sleep } from "../lib/processes";
import { closeAll, connectClients, drainReceivers, round, sourceAddresses, type RampFigures } from "./common";
import type { Limits, PhaseLoad, Scenario } from "./types";
import type { BenchOptions } from "../options";

export interface HoldBroadcast {
  at: "start" | "end";
  expected: number;
  delivered: number;
  silentReceivers: number;
  /** From the send to the last receipt. */
  seconds: number;
}

export interface HoldData {
  clients: number;
  workers: number;
  generators: number;
  sourceAddresses: number;
  ramp: RampFigures & { load: PhaseLoad };
  heldSeconds: number;
  /** Connections the server closed during the hold. */
  lost: number;
  openAtEnd: number;
  broadcasts: HoldBroadcast[];
  /** Every connection open at the end received every broadcast. */
  everyoneReceived: boolean;
  rssMB: number;
  perConnectionKB: number;
  /** The first PID is the primary. */
  perProcess: Array<{ pid: number; beforeMB: number; afterMB: number }>;
}

/** Per-process open files needed: the connections plus some slack. */
const perProcess = (connections: number) => Math.ceil(connections * 1.15) + 200;

function workersFor(options: BenchOptions, multiWorker: boolean, limits: Limits): number {
  if (!multiWorker) return 1;
  let workers = options.workers;
  // a worker holds its share of the connections (the kernel spreads them, not evenly)
  while (perProcess(options.holdClients / workers) > limits.openFiles && workers < 64) workers++;
  return workers;
}

async function broadcastOnce(context: Parameters<Scenario<HoldData>["run"]>[0], at: "start" | "end", receivers: number): Promise<HoldBroadcast> {
  const { fleet } = context;
  await fleet.all({ cmd: "listen" });
  const shout = (await fleet.one<ShoutResult>(0, { cmd: "shoutOnce", sender: 0 })).result;
  const answers = await drainReceivers(fleet, 3000, 60_000, receivers);
  const results = answers.map((a) => a.result as ReceiveResult);
  const delivered = results.reduce((s, r) => s + r.received, 0);
  const last = Math.max(...results.map((r) => r.lastReceiveUs));
  return {
    at,
    expected: receivers,
    delivered,
    silentReceivers: results.reduce((s, r) => s + r.silent, 0),
    seconds: round(Math.max(0, last - shout.firstSendUs) / 1e6, 3),
  };
}

/**
 * Hold: N concurrent WebSocket connections (50,000 in the full run) held for a while, each
 * receiving a broadcast at the start and at the end. The server and the generators are sized
 * for the open-file limit (more workers / generator processes where one process could not hold
 * its share), and connections come from several loopback source addresses.
 */
export const hold: Scenario<HoldData> = {
  name: "hold",
  title: "Hold N connections",
  notApplicable: (spec, options, limits) => {
    if (!options.holdSystems.includes(spec.name)) return `not in --hold-systems (${options.holdSystems.join(",")})`;
    if (!spec.supports.multiWorker && perProcess(options.holdClients) > limits.openFiles) {
      return `one process cannot hold ${options.holdClients} sockets: open-file limit ${limits.openFiles}`;
    }
    return undefined;
  },
  own: {
    workers: (options, spec, limits) => workersFor(options, spec.supports.multiWorker, limits),
    generators: (options, limits) => {
      let generators = options.generators;
      while (perProcess(options.holdClients / generators) > limits.openFiles) generators++;
      return generators;
    },
  },
  summarize: (d) =>
    `${d.openAtEnd}/${d.clients} open after ${d.heldSeconds} s, everyone received: ${d.everyoneReceived}, ${d.perConnectionKB} KB/conn`,
  async run(context) {
    const { options, spec, system, fleet, progress } = context;
    const notes: string[] = [];
    const pids = await system.pids();
    await system.gc();
    const before = pids.map(rssOf);
    const baseline = before.reduce((a, b) => a + b, 0);
    progress.phase("hold", spec.name, `connect ${options.holdClients}`, "conn");
    const ramp = await connectClients(fleet, system, progress, options.holdClients, "websocket", { concurrency: 100, timeoutMs: 30_000 });
    if (ramp.figures.failed > 0) notes.push(`${ramp.figures.failed} connections failed: ${ramp.figures.errors.join("; ")}`);
    try {
      const receivers = ramp.figures.connected - 1;
      progress.phase("hold", spec.name, "broadcast (start)", "");
      const first = await broadcastOnce(context, "start", receivers);

      progress.phase("hold", spec.name, `hold ${options.holdSeconds} s`, "open");
      const holdStart = Date.now();
      let status: StatusResult[] = [];
      while (Date.now() - holdStart < options.holdSeconds * 1000) {
        await sleep(Math.min(2000, Math.max(50, options.holdSeconds * 1000 - (Date.now() - holdStart))));
        status = (await fleet.all<StatusResult>({ cmd: "status" })).map((a) => a.result);
        progress.update(status.reduce((s, r) => s + r.open, 0));
      }
      const heldSeconds = round((Date.now() - holdStart) / 1000, 1);
      const lost = status.reduce((s, r) => s + r.lost, 0);
      const openAtEnd = status.reduce((s, r) => s + r.open, 0);

      await system.gc();
      const after = pids.map(rssOf);
      const loaded = after.reduce((a, b) => a + b, 0);

      progress.phase("hold", spec.name, "broadcast (end)", "");
      const last = await broadcastOnce(context, "end", openAtEnd - 1);
      const everyoneReceived =
        lost === 0 && [first, last].every((b) => b.delivered >= b.expected && b.silentReceivers === 0) && openAtEnd === options.holdClients;
      if (lost > 0) notes.push(`${lost} connections closed by the server during the hold`);
      return {
        data: {
          clients: options.holdClients,
          workers: system.workers,
          generators: fleet.size,
          sourceAddresses: sourceAddresses(options.holdClients).length || 1,
          ramp: { ...ramp.figures, load: ramp.load },
          heldSeconds,
          lost,
          openAtEnd,
          broadcasts: [first, last],
          everyoneReceived,
          rssMB: round(loaded / 1024 / 1024, 1),
          perConnectionKB: ramp.figures.connected > 0 ? round((loaded - baseline) / 1024 / ramp.figures.connected, 2) : 0,
          perProcess: pids.map((pid, i) => ({ pid, beforeMB: round(before[i]! / 1024 / 1024, 1), afterMB: round(after[i]! / 1024 / 1024, 1) })),
        },
        notes,
      };
    } finally {
      progress.phase("hold", spec.name, "close", "");
      await closeAll(fleet);
    }
  },
};
