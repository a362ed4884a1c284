import { writeFileSync } from "node:fs";
import type { Percentiles } from "../lib/percentiles";
import type { SystemName } from "../systems/types";
import type { RampData } from "../scenarios/ramp";
import type { BenchResults, ScenarioData } from "./results";

const num = (n: number | null | undefined, digits = 0): string =>
  n == null ? "–" : n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (n: number) => (n >= 100 ? num(n, 0) : n >= 10 ? num(n, 1) : num(n, 2));
const pct = (p: Percentiles) => [p.p50, p.p90, p.p99, p.p999, p.max].map(ms).join(" | ");
const primaryWrites = (w: { callsPerShout: number; bytesPerShout: number } | undefined) => (w ? `${num(w.callsPerShout, 2)} · ${num(w.bytesPerShout)} B` : "–");
const sat = (s: boolean) => (s ? " †" : "");

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(" | ")} |`, `| ${head.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

function each<S extends keyof ScenarioData>(results: BenchResults, scenario: S, fn: (system: SystemName, data: ScenarioData[S]) => string[][]): string[][] {
  const rows: string[][] = [];
  for (const [system, outcome] of Object.entries(results.scenarios[scenario] ?? {})) {
    if (!outcome) continue;
    if (outcome.ok) rows.push(...fn(system as SystemName, outcome.data as ScenarioData[S]));
  }
  return rows;
}

const perProcess = (list: Array<{ beforeMB: number; afterMB: number }> | undefined) =>
  (list ?? []).map((p) => `${num(p.beforeMB, 0)}→${num(p.afterMB, 0)}`).join(", ");

const label = (results: BenchResults, system: SystemName) => results.systems[system]?.label ?? system;

/** `latest.md`: the targets, the summary table (absolute figures and ratios to the recipe), details. */
export function renderMarkdown(results: BenchResults, chartFile: string): string {
  const m = results.machine;
  const o = results.options;
  const systems = Object.keys(results.systems) as SystemName[];
  const out: string[] = [];
  out.push(`# Benchmark: product vs the alternatives`, "");
  out.push(
    `Run ${results.startedAt} (${o.mode}, ${Math.round(results.durationSeconds)} s): \`${results.command}\``,
    "",
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os} ${m.kernel}, Node ${m.node}; ` +
      `load average (1/5/15 min) at start ${m.loadAverage.join(" / ")}, at the end ${results.loadAverageEnd.join(" / ")}; open files ${m.openFiles.soft}/${m.openFiles.hard}.`,
    "",
    `Product: commit ${m.product.commit}${m.product.uncommittedSrcFiles ? ` with ${m.product.uncommittedSrcFiles} uncommitted files under src/` : ""}. ` +
      `Packages: ${Object.entries(m.packages).map(([k, v]) => `${k} ${v}`).join(", ")}.`,
    "",
    `Settings: ${o.workers} workers for every multi-process system, ${o.generators} load-generator processes on the same machine; ` +
      `ramp ${num(o.clients)} clients, echo ${o.echoConnections} connections (window ${o.echoWindow}), ` +
      `fan-out ${num(o.receivers)} receivers (window ${o.fanoutWindow}), ${o.rooms} rooms, ${o.duration} s per phase, ` +
      `HTTP ${o.httpConnections} connections × ${o.httpDuration} s, hold ${num(o.holdClients)} × ${o.holdSeconds} s.`,
    "",
  );

  if (results.disturbance.length > 0) {
    out.push(
      `> **Warning:** processes outside the bench used the CPU during ${results.disturbance.length} measured phases (marked ‡ below; list under Notes): ` +
        "those figures are skewed. Run again on a quiet machine.",
      "",
    );
  }
  out.push("## Targets", "");
  out.push(
    table(
      ["Target", "Measured", "Threshold", "Met", "Detail"],
      results.targets.map((t) => [t.description, t.value == null ? "–" : `${num(t.value, 2)}`, t.threshold, t.met == null ? "not measured" : t.met ? "**yes**" : "**no**", t.detail]),
    ),
    "",
  );

  out.push("## Summary: figures and ratio to the recipe", "");
  out.push(
    "Each cell: the figure, then (× the recipe's). † = a load-generator process was saturated while measuring it: the figure is a lower bound for that system. " +
      "‡ = other processes on the machine used CPU while measuring it.",
    "",
  );
  out.push(
    table(
      ["Metric", "Unit", "Better", ...systems.map((s) => label(results, s))],
      results.ratios.map((r) => [
        r.metric,
        r.unit,
        r.better,
        ...systems.map((s) => {
          const v = r.values[s];
          if (v == null) return "n/a";
          const ratio = r.ratios[s];
          const digits = r.unit === "ms" || r.unit === "KB" ? 2 : r.unit === "cpu-s" ? 1 : 0;
          return `${num(v, digits)}${ratio != null && s !== "recipe" ? ` (${num(ratio, 2)}×)` : ""}${sat(r.saturated.includes(s))}${r.disturbed.includes(s) ? " ‡" : ""}`;
        }),
      ]),
    ),
    "",
    `![ratios and latency](${chartFile})`,
    "",
  );

  out.push("## Connection ramp", "");
  out.push(
    table(
      ["System", "Transport", "Clients", "Failed", "Seconds", "conn/s", "connect p50 ms", "connect p99 ms", "Server CPU", "Generator CPU max", "Other CPU"],
      each(results, "ramp", (s, d) => [
        [label(results, s), "websocket", num(d.websocket.clients), num(d.websocket.failed), num(d.websocket.seconds, 2), num(d.websocket.ratePerSec) + sat(d.websocket.load.generator.saturated), ms(d.websocket.connectLatency.p50), ms(d.websocket.connectLatency.p99), num(d.websocket.load.serverCpu, 2), num(d.websocket.load.generator.cpuMax, 2), num(d.websocket.load.otherCpu, 2)],
        ...(d.polling
          ? [[label(results, s), "polling→upgrade", num(d.polling.clients), num(d.polling.failed), num(d.polling.seconds, 2), num(d.polling.ratePerSec) + sat(d.polling.load.generator.saturated), ms(d.polling.connectLatency.p50), ms(d.polling.connectLatency.p99), num(d.polling.load.serverCpu, 2), num(d.polling.load.generator.cpuMax, 2), num(d.polling.load.otherCpu, 2)]]
          : []),
      ]),
    ),
    "",
    table(
      ["System", "Processes", "RSS before (MB)", "RSS with clients (MB)", "KB per idle WebSocket", "Per process, MB (primary first)"],
      each(results, "ramp", (s, d) => [
        [label(results, s), num(d.memory.processes), num(d.memory.baselineRssMB, 1), num(d.memory.loadedRssMB, 1), num(d.memory.perConnectionKB, 2), perProcess(d.memory.perProcess)],
      ]),
    ),
    "",
    "After the clients of a ramp left: how long the server's processes stayed busy, and the CPU time they used meanwhile.",
    "",
    table(
      ["System", "Clients", "Busy after WebSocket clients left (s)", "CPU (s)", "Busy after default clients left (s)", "CPU (s)"],
      each(results, "ramp", (s, d) => {
        const idle = (x: RampData["afterDisconnect"]) => `${num(x.seconds, 1)}${x.reachedIdle ? "" : " (still busy)"}`;
        return [[label(results, s), num(d.websocket.connected), idle(d.afterDisconnect), num(d.afterDisconnect.cpuSeconds, 1), d.polling ? idle(d.polling.afterDisconnect) : "n/a", d.polling ? num(d.polling.afterDisconnect.cpuSeconds, 1) : "n/a"]];
      }),
    ),
    "",
  );

  out.push("## Echo with ack", "");
  out.push("Max rate: closed loop, each connection keeping a window of echoes in flight. Fixed rates: open loop, latency from the scheduled send time (coordinated omission corrected). Latency in ms: p50 | p90 | p99 | p99.9 | max.", "");
  out.push(
    table(
      ["System", "Load", "acks/s", "p50", "p90", "p99", "p99.9", "max", "Unanswered", "Server CPU", "Generator CPU max", "Other CPU"],
      each(results, "echo", (s, d) => [
        [label(results, s), `max (window ${d.max.window} × ${d.connections})`, num(d.max.throughputPerSec) + sat(d.max.load.generator.saturated), pct(d.max.latency), "–", num(d.max.load.serverCpu, 2), num(d.max.load.generator.cpuMax, 2), num(d.max.load.otherCpu, 2)],
        ...d.rates.map((p) => [label(results, s), `${Math.round(p.fraction * 100)}% of ${d.reference.system} max = ${num(p.offeredPerSec)}/s`, num(p.achievedPerSec) + sat(p.load.generator.saturated), pct(p.latency), num(p.unanswered), num(p.load.serverCpu, 2), num(p.load.generator.cpuMax, 2), num(p.load.otherCpu, 2)]),
      ]),
    ),
    "",
  );

  for (const [scenario, title] of [
    ["fanout", "Broadcast fan-out (io.emit to everyone)"],
    ["rooms", "Room broadcasts (io.to(room).emit over many rooms)"],
    ["cross", "Cross-worker fan-out (receivers on other workers than the sender)"],
  ] as const) {
    out.push(`## ${title}`, "");
    out.push(
      "Max: the sender keeps a window of shouts in flight. Fixed rate: open loop at half the recipe's max shout rate, latency from the scheduled send time. Latency in ms: p50 | p90 | p99 | p99.9 | max. Primary writes: what the cluster's primary wrote to its workers (IPC) per shout, write calls · bytes (/proc/<pid>/io).",
      "",
    );
    out.push(
      table(
        ["System", "Receivers", "Rooms", "Placement", "Load", "Shouts/s", "Delivered/s", "Delivered", "p50", "p90", "p99", "p99.9", "max", "Primary writes / shout", "Server CPU", "Generator CPU max", "Other CPU"],
        each(results, scenario, (s, d) => [
          [label(results, s), num(d.receivers), num(d.rooms), Object.entries(d.placement).map(([k, v]) => `${k}: ${v}`).join(", "), `max (window ${d.max.window})`, num(d.max.shoutsPerSec), num(d.max.deliveredPerSec) + sat(d.max.load.generator.saturated), `${num(d.max.delivered)} / ${num(d.max.expected)}`, pct(d.max.latency), primaryWrites(d.max.primaryWrites), num(d.max.load.serverCpu, 2), num(d.max.load.generator.cpuMax, 2), num(d.max.load.otherCpu, 2)],
          ...(d.atRate
            ? [[label(results, s), "", "", "", `${Math.round(d.atRate.fraction * 100)}% of ${d.atRate.reference} max`, num(d.atRate.shoutsPerSec), num(d.atRate.deliveredPerSec) + sat(d.atRate.load.generator.saturated), `${num(d.atRate.delivered)} / ${num(d.atRate.expected)}`, pct(d.atRate.latency), primaryWrites(d.atRate.primaryWrites), num(d.atRate.load.serverCpu, 2), num(d.atRate.load.generator.cpuMax, 2), num(d.atRate.load.otherCpu, 2)]]
            : []),
        ]),
      ),
      "",
    );
  }

  out.push("## HTTP (autocannon)", "");
  out.push(
    table(
      ["System", "Endpoint", "req/s", "p50 ms", "p99 ms", "max ms", "non-2xx", "errors", "Server CPU", "autocannon CPU", "Other CPU"],
      each(results, "http", (s, d) =>
        d.endpoints.map((e) => [label(results, s), `\`${e.path}\``, num(e.requestsPerSec) + sat(e.load.generator.saturated), num(e.latencyMs.p50, 1), num(e.latencyMs.p99, 1), num(e.latencyMs.max, 1), num(e.non2xx), num(e.errors), num(e.load.serverCpu, 2), num(e.load.generator.cpuMax, 2), num(e.load.otherCpu, 2)]),
      ),
    ),
    "",
  );

  out.push("## Hold", "");
  out.push(
    table(
      ["System", "Workers", "Clients", "Open at end", "Lost", "Ramp s", "Held s", "Broadcasts (delivered / expected, s)", "Everyone received", "RSS MB", "KB per connection", "Per process, MB (primary first)"],
      each(results, "hold", (s, d) => [
        [label(results, s), num(d.workers), num(d.clients), num(d.openAtEnd), num(d.lost), num(d.ramp.seconds, 1), num(d.heldSeconds, 1), d.broadcasts.map((b) => `${b.at}: ${num(b.delivered)} / ${num(b.expected)} in ${num(b.seconds, 2)} s`).join("; "), d.everyoneReceived ? "yes" : "**no**", num(d.rssMB, 1), num(d.perConnectionKB, 2), perProcess(d.perProcess)],
      ]),
    ),
    "",
  );

  out.push("## Notes", "");
  for (const [scenario, bySystem] of Object.entries(results.scenarios)) {
    for (const [system, outcome] of Object.entries(bySystem ?? {})) {
      if (!outcome) continue;
      if (!outcome.ok) out.push(`- ${scenario} / ${system}: ${"skipped" in outcome ? `n/a — ${outcome.skipped}` : `**error** — ${outcome.error}`}`);
      else for (const note of outcome.notes) out.push(`- ${scenario} / ${system}: ${note}`);
    }
  }
  for (const line of results.saturation) out.push(`- generator saturated: ${line}`);
  for (const line of results.disturbance) out.push(`- machine busy: ${line}`);
  out.push("", "## Systems", "");
  for (const s of systems) {
    const info = results.systems[s]!;
    out.push(`- **${info.label}** (${info.workers} worker${info.workers === 1 ? "" : "s"}): ${info.description}${info.notes.length ? `. ${info.notes.join("; ")}` : ""}`);
  }
  out.push("");
  return out.join("\n");
}

export function writeMarkdown(file: string, results: BenchResults, chartFile: string): void {
  writeFileSync(file, renderMarkdown(results, chartFile));
}
