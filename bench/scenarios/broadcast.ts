import type { Answer } from "../load/fleet";
import type { Command, ReceiveResult, ShoutResult } from "../load/messages";
import { Histogram, type Percentiles } from "../lib/percentiles";
import { LoadMeter, sleep, writesOf } from "../lib/processes";
import { closeAll, connectClients, drainReceivers, generatorLoad, round } from "./common";
import type { PhaseLoad, ScenarioContext } from "./types";

export interface BroadcastPhase {
  shoutsSent: number;
  shoutsPerSec: number;
  delivered: number;
  expected: number;
  /** Deliveries ÷ (last receipt − first send). */
  deliveredPerSec: number;
  /** Delivery latency: from the (scheduled) send time embedded in the payload to the receipt. */
  latency: Percentiles;
  /** Receivers that got nothing at all. */
  silentReceivers: number;
  load: PhaseLoad;
  /**
   * What the primary wrote (its IPC to the workers: deliveries, relays) per shout sent, with more
   * than one worker: write calls and bytes. Node writes to an IPC channel with one write call per
   * message, or per batch when the server coalesces them.
   */
  primaryWrites?: { callsPerShout: number; bytesPerShout: number };
}

export interface BroadcastData {
  receivers: number;
  rooms: number;
  /** Server process → receivers it serves (from `whoami`). */
  placement: Record<string, number>;
  senderInstance: string;
  /** Max rate: the sender keeps `window` shouts in flight (complete once a receiver on each process got it). */
  max: BroadcastPhase & { window: number; abandoned: number };
  /** Fixed rate (open loop): a fraction of the reference system's max shout rate. */
  atRate: (BroadcastPhase & { fraction: number; reference: string }) | null;
}

export type BroadcastKind = "fanout" | "rooms" | "cross";

async function phase(
  context: ScenarioContext,
  kind: BroadcastKind,
  label: string,
  command: Command,
  receivers: number,
  rooms: number,
): Promise<{ phase: BroadcastPhase; shout: ShoutResult }> {
  const { fleet, system, progress, spec, options } = context;
  await fleet.all({ cmd: "listen" });
  progress.phase(kind, spec.name, label, "msgs");
  const ticker = setInterval(() => progress.update(fleet.progress()), 250);
  const pids = await system.pids();
  const meter = new LoadMeter(pids, fleet.pids());
  const primary = system.workers > 1 ? pids[0] : undefined;
  const writesBefore = primary === undefined ? undefined : writesOf(primary);
  let shout: ShoutResult;
  let answers: Array<Answer<ReceiveResult>>;
  const expectedOf = (sent: number) => (rooms > 0 ? Math.round((sent * receivers) / rooms) : sent * receivers);
  try {
    shout = (await fleet.one<ShoutResult>(0, command, options.duration * 1000 + 60_000)).result;
    answers = await drainReceivers(fleet, 1000, 15_000, expectedOf(shout.sent));
  } finally {
    clearInterval(ticker);
  }
  const cpu = meter.read();
  const writesAfter = primary === undefined ? undefined : writesOf(primary);
  const results = answers.map((a) => a.result);
  const delivered = results.reduce((s, r) => s + r.received, 0);
  const lastUs = Math.max(...results.map((r) => r.lastReceiveUs));
  const spanS = Math.max(1e-6, (lastUs - shout.firstSendUs) / 1e6);
  return {
    shout,
    phase: {
      shoutsSent: shout.sent,
      shoutsPerSec: round(shout.sent / options.duration, 1),
      delivered,
      expected: expectedOf(shout.sent),
      deliveredPerSec: round(delivered / spanS, 1),
      latency: Histogram.from(results.map((r) => r.latency)).percentilesMs(),
      silentReceivers: results.reduce((s, r) => s + r.silent, 0),
      load: { generator: generatorLoad(answers.map((a) => a.usage)), ...cpu },
      primaryWrites:
        writesBefore && writesAfter && shout.sent > 0
          ? {
              callsPerShout: round((writesAfter.calls - writesBefore.calls) / shout.sent, 2),
              bytesPerShout: Math.round((writesAfter.bytes - writesBefore.bytes) / shout.sent),
            }
          : undefined,
    },
  };
}

/**
 * One sender (`shout`), many receivers: global `io.emit` (fanout), `io.to(room).emit` round-robin
 * over many rooms (rooms), or a global emit whose receivers all sit on other workers than the
 * sender (cross). First at max rate (a window of shouts in flight), then at a fixed rate: half the
 * reference system's (the recipe's) max shout rate, latency from the scheduled send time.
 */
export async function runBroadcast(kind: BroadcastKind, context: ScenarioContext): Promise<{ data: BroadcastData; notes: string[] }> {
  const { options, spec, system, fleet, progress, references } = context;
  const notes: string[] = [];
  const workers = system.workers;
  const wanted = kind === "cross" ? Math.ceil((options.receivers * workers) / Math.max(1, workers - 1)) : options.receivers;
  progress.phase(kind, spec.name, "connect", "conn");
  const conn = await connectClients(fleet, system, progress, wanted + 1, "websocket", { concurrency: 128, timeoutMs: options.connectTimeoutMs });
  if (conn.figures.failed > 0) notes.push(`${conn.figures.failed} connections failed`);
  try {
    progress.phase(kind, spec.name, "placement (whoami)", "");
    const instances = (await fleet.all<string[]>({ cmd: "whoami" }, 120_000)).map((a) => a.result);
    const senderInstance = instances[0]![0]!;
    const isSender = (g: number, i: number) => g === 0 && i === 0;
    if (kind === "cross") {
      await fleet.each((g) => ({
        cmd: "keep",
        indices: instances[g]!.flatMap((instance, i) => (isSender(g, i) || instance !== senderInstance ? [i] : [])),
      }));
      for (let g = 0; g < instances.length; g++) {
        instances[g] = instances[g]!.filter((instance, i) => isSender(g, i) || instance !== senderInstance);
      }
    }
    const placement: Record<string, number> = {};
    instances.forEach((list, g) =>
      list.forEach((instance, i) => {
        if (!isSender(g, i)) placement[instance] = (placement[instance] ?? 0) + 1;
      }),
    );
    const receivers = Object.values(placement).reduce((a, b) => a + b, 0);
    if (receivers === 0) throw new Error("no receiver on another worker than the sender");
    const rooms = kind === "rooms" ? Math.min(options.rooms, receivers) : 0;
    if (rooms > 0) {
      progress.phase(kind, spec.name, `join ${rooms} rooms`, "");
      await fleet.each((g) => ({ cmd: "join", rooms, skip: g === 0 ? [0] : [] }), 120_000);
    }
    const durationMs = options.duration * 1000;

    const max = await phase(context, kind, `max rate (window ${options.fanoutWindow})`, { cmd: "shout", sender: 0, rooms, window: options.fanoutWindow, durationMs }, receivers, rooms);
    if (max.phase.delivered < max.phase.expected) notes.push(`max rate: ${max.phase.expected - max.phase.delivered} of ${max.phase.expected} deliveries missing`);
    if (max.shout.abandoned > 0) notes.push(`max rate: ${max.shout.abandoned} shouts not seen by a clock receiver within 5 s`);
    const shoutRates = (references.shoutMaxRate ??= {});
    if (spec.name === "recipe" || !shoutRates[kind]) shoutRates[kind] = { system: spec.name, rate: max.phase.shoutsPerSec };
    const reference = shoutRates[kind]!;

    let atRate: BroadcastData["atRate"] = null;
    if (options.broadcastFraction > 0) {
      await sleep(300);
      const rate = Math.max(1, Math.round(reference.rate * options.broadcastFraction));
      const fixed = await phase(context, kind, `${Math.round(options.broadcastFraction * 100)}% of ${reference.system} max (${rate}/s)`, { cmd: "shoutAtRate", sender: 0, rooms, rate, durationMs }, receivers, rooms);
      if (fixed.phase.delivered < fixed.phase.expected) notes.push(`fixed rate: ${fixed.phase.expected - fixed.phase.delivered} of ${fixed.phase.expected} deliveries missing`);
      atRate = { ...fixed.phase, fraction: options.broadcastFraction, reference: reference.system };
    }
    if (kind === "cross" && workers < 2) notes.push("one worker: nothing crosses processes");
    return {
      data: {
        receivers,
        rooms,
        placement,
        senderInstance,
        max: { ...max.phase, window: options.fanoutWindow, abandoned: max.shout.abandoned },
        atRate,
      },
      notes,
    };
  } finally {
    await closeAll(fleet);
  }
}
