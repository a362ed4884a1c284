import type { SystemName } from "../systems/types";
import type { PhaseLoad } from "../scenarios/types";
import type { RatioRow, ScenarioResults } from "./results";

/** Other processes used this many cores during a phase: its figures are disturbed. */
export const DISTURBED_CPU = 0.25;

interface Metric {
  metric: string;
  unit: string;
  better: "higher" | "lower";
  /** The figure for one system, and the load of the phase that measured it. */
  read(results: ScenarioResults, system: SystemName): { value: number; load: PhaseLoad | undefined } | null;
}

function ok<T>(outcome: { ok: boolean; data?: T } | undefined): T | undefined {
  return outcome && outcome.ok ? (outcome as { data: T }).data : undefined;
}

/** The open-loop point at `fraction` of the reference max rate. */
const echoPoint = (results: ScenarioResults, system: SystemName, fraction: number) =>
  ok(results.echo?.[system])?.rates.find((r) => Math.abs(r.fraction - fraction) < 1e-9);

const broadcastMetrics = (scenario: "fanout" | "rooms" | "cross", title: string): Metric[] => [
  {
    metric: `${title}: delivered`,
    unit: "msg/s",
    better: "higher",
    read: (r, s) => {
      const d = ok(r[scenario]?.[s]);
      return d ? { value: d.max.deliveredPerSec, load: d.max.load } : null;
    },
  },
  {
    metric: `${title}: delivery p99 at 50% of recipe max`,
    unit: "ms",
    better: "lower",
    read: (r, s) => {
      const d = ok(r[scenario]?.[s])?.atRate;
      return d ? { value: d.latency.p99, load: d.load } : null;
    },
  },
];

/** Server CPU (all its processes) per 100,000 deliveries at max rate: what a delivery costs, whatever rate the machine allowed. */
const cpuPerDeliveries = (scenario: "fanout" | "rooms", title: string): Metric => ({
  metric: `${title}: server CPU per 100,000 deliveries`,
  unit: "ms",
  better: "lower",
  read: (r, s) => {
    const d = ok(r[scenario]?.[s]);
    return d && d.max.deliveredPerSec > 0 ? { value: Math.round((d.max.load.serverCpu / d.max.deliveredPerSec) * 1e10) / 100, load: d.max.load } : null;
  },
});

/** The figures of the summary table, in order. Ratios are value ÷ recipe's value. */
export const METRICS: Metric[] = [
  {
    metric: "Ramp (WebSocket): connections",
    unit: "conn/s",
    better: "higher",
    read: (r, s) => {
      const d = ok(r.ramp?.[s]);
      return d ? { value: d.websocket.ratePerSec, load: d.websocket.load } : null;
    },
  },
  {
    metric: "Ramp (polling→upgrade): connections",
    unit: "conn/s",
    better: "higher",
    read: (r, s) => {
      const d = ok(r.ramp?.[s])?.polling;
      return d ? { value: d.ratePerSec, load: d.load } : null;
    },
  },
  {
    metric: "RSS per idle WebSocket connection",
    unit: "KB",
    better: "lower",
    read: (r, s) => {
      const d = ok(r.ramp?.[s]);
      return d ? { value: d.memory.perConnectionKB, load: undefined } : null;
    },
  },
  {
    metric: "Server CPU after N default clients left",
    unit: "cpu-s",
    better: "lower",
    read: (r, s) => {
      const d = ok(r.ramp?.[s])?.polling;
      return d ? { value: d.afterDisconnect.cpuSeconds, load: undefined } : null;
    },
  },
  {
    metric: "Echo: max throughput",
    unit: "acks/s",
    better: "higher",
    read: (r, s) => {
      const d = ok(r.echo?.[s]);
      return d ? { value: d.max.throughputPerSec, load: d.max.load } : null;
    },
  },
  {
    metric: "Echo: server CPU per 1,000 acks",
    unit: "ms",
    better: "lower",
    read: (r, s) => {
      const d = ok(r.echo?.[s]);
      return d && d.max.throughputPerSec > 0
        ? { value: Math.round((d.max.load.serverCpu / d.max.throughputPerSec) * 1e8) / 100, load: d.max.load }
        : null;
    },
  },
  {
    metric: "Echo p99 at 50% of recipe max",
    unit: "ms",
    better: "lower",
    read: (r, s) => {
      const p = echoPoint(r, s, 0.5);
      return p ? { value: p.latency.p99, load: p.load } : null;
    },
  },
  ...broadcastMetrics("fanout", "Fan-out io.emit"),
  cpuPerDeliveries("fanout", "Fan-out io.emit"),
  ...broadcastMetrics("rooms", "Rooms"),
  cpuPerDeliveries("rooms", "Rooms"),
  ...broadcastMetrics("cross", "Cross-worker fan-out"),
  ...(["healthz", "index", "client", "handshake"] as const).map(
    (name): Metric => ({
      metric: `HTTP ${name === "client" ? "/socket.io/socket.io.js" : name === "index" ? "/" : name === "healthz" ? "/healthz" : "polling handshake"}`,
      unit: "req/s",
      better: "higher",
      read: (r, s) => {
        const e = ok(r.http?.[s])?.endpoints.find((x) => x.name === name);
        return e ? { value: e.requestsPerSec, load: e.load } : null;
      },
    }),
  ),
  {
    metric: "Hold: RSS per connection",
    unit: "KB",
    better: "lower",
    read: (r, s) => {
      const d = ok(r.hold?.[s]);
      return d ? { value: d.perConnectionKB, load: undefined } : null;
    },
  },
];

export function ratioRows(results: ScenarioResults, systems: SystemName[]): RatioRow[] {
  return METRICS.map((m) => {
    const values: RatioRow["values"] = {};
    const ratios: RatioRow["ratios"] = {};
    const saturated: SystemName[] = [];
    const disturbed: SystemName[] = [];
    for (const s of systems) {
      const read = m.read(results, s);
      values[s] = read ? read.value : null;
      if (read?.load?.generator.saturated) saturated.push(s);
      if ((read?.load?.otherCpu ?? 0) >= DISTURBED_CPU) disturbed.push(s);
    }
    const base = values.recipe;
    for (const s of systems) {
      const v = values[s];
      ratios[s] = v != null && base != null && base > 0 ? Math.round((v / base) * 100) / 100 : null;
    }
    return { metric: m.metric, unit: m.unit, better: m.better, values, ratios, saturated, disturbed };
  }).filter((row) => Object.values(row.values).some((v) => v != null));
}
