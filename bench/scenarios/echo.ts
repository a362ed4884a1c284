import type { EchoResult } from "../load/messages";
import { Histogram, type Percentiles } from "../lib/percentiles";
import { sleep } from "../lib/processes";
import { closeAll, connectClients, measured, round, split } from "./common";
import type { PhaseLoad, Scenario } from "./types";

export interface EchoRatePoint {
  /** Fraction of the reference max rate. */
  fraction: number;
  offeredPerSec: number;
  achievedPerSec: number;
  /** Latency from the scheduled send time to the ack. */
  latency: Percentiles;
  unanswered: number;
  load: PhaseLoad;
}

export interface EchoData {
  connections: number;
  max: { window: number; throughputPerSec: number; latency: Percentiles; load: PhaseLoad };
  reference: { system: string; maxRatePerSec: number };
  rates: EchoRatePoint[];
}

/**
 * Echo with ack: closed loop at max rate (throughput), then open loop at fixed offered rates
 * (fractions of the recipe's max rate), latency measured from the scheduled send time.
 */
export const echo: Scenario<EchoData> = {
  name: "echo",
  title: "Echo with ack",
  summarize: (d) =>
    `max ${Math.round(d.max.throughputPerSec)} acks/s; ` +
    d.rates.map((r) => `${Math.round(r.fraction * 100)}%: p99 ${r.latency.p99} ms`).join(", "),
  async run({ options, spec, system, fleet, progress, references }) {
    const notes: string[] = [];
    progress.phase("echo", spec.name, "connect", "conn");
    const conn = await connectClients(fleet, system, progress, options.echoConnections, "websocket", { timeoutMs: options.connectTimeoutMs });
    if (conn.figures.failed > 0) notes.push(`${conn.figures.failed} connections failed`);
    const durationMs = options.duration * 1000;
    const warmupMs = options.warmup * 1000;
    const ticker = setInterval(() => progress.update(fleet.progress()), 250);
    try {
      progress.phase("echo", spec.name, "max rate", "acks");
      const max = await measured(
        system,
        fleet,
        () => fleet.all({ cmd: "echoMax", durationMs, warmupMs, window: options.echoWindow }, durationMs + warmupMs + 30_000),
        (answers) => answers.map((a) => a.result as EchoResult),
      );
      const throughput = max.value.reduce((s, r) => s + r.acked, 0) / options.duration;
      if (spec.name === "recipe" || !references.echoMaxRate) {
        references.echoMaxRate = { system: spec.name, rate: throughput };
      }
      const reference = references.echoMaxRate!;
      if (reference.system !== "recipe") notes.push(`offered rates are fractions of ${reference.system}'s max (the recipe did not run)`);

      const rates: EchoRatePoint[] = [];
      for (const fraction of options.echoFractions) {
        const offered = Math.max(1, Math.round(reference.rate * fraction));
        progress.phase("echo", spec.name, `open loop ${Math.round(fraction * 100)}% (${offered}/s)`, "acks");
        await sleep(300);
        const perGenerator = split(offered, fleet.size);
        const point = await measured(
          system,
          fleet,
          () =>
            fleet.each(
              (g) => ({ cmd: "echoRate", rate: Math.max(1, perGenerator[g]!), durationMs, warmupMs, drainMs: 5000 }),
              durationMs + warmupMs + 60_000,
            ),
          (answers) => answers.map((a) => a.result as EchoResult),
        );
        const unanswered = point.value.reduce((s, r) => s + r.unanswered, 0);
        if (unanswered > 0) notes.push(`${Math.round(fraction * 100)}%: ${unanswered} echoes unanswered 5 s after the last send`);
        rates.push({
          fraction,
          offeredPerSec: offered,
          achievedPerSec: round(point.value.reduce((s, r) => s + r.acked, 0) / options.duration, 1),
          latency: Histogram.from(point.value.map((r) => r.latency)).percentilesMs(),
          unanswered,
          load: point.load,
        });
      }
      return {
        data: {
          connections: conn.figures.connected,
          max: {
            window: options.echoWindow,
            throughputPerSec: round(throughput, 1),
            latency: Histogram.from(max.value.map((r) => r.latency)).percentilesMs(),
            load: max.load,
          },
          reference: { system: reference.system, maxRatePerSec: round(reference.rate, 1) },
          rates,
        },
        notes,
      };
    } finally {
      clearInterval(ticker);
      await closeAll(fleet);
    }
  },
};
