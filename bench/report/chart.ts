import { writeFileSync } from "node:fs";
import type { SystemName } from "../systems/types";
import type { BenchResults } from "./results";

const COLORS: Record<SystemName, string> = { product: "#1f77b4", recipe: "#7f7f7f", single: "#ff7f0e", raw: "#2ca02c" };
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

/** Metrics of the ratio panel; for "lower is better" ones the advantage is recipe ÷ system. */
const PANEL_METRICS = [
  "Ramp (WebSocket): connections",
  "RSS per idle WebSocket connection",
  "Echo: max throughput",
  "Echo: server CPU per 1,000 acks",
  "Echo p99 at 50% of recipe max",
  "Fan-out io.emit: delivered",
  "Fan-out io.emit: delivery p99 at 50% of recipe max",
  "Rooms: delivered",
  "Cross-worker fan-out: delivered",
  "HTTP /healthz",
  "HTTP polling handshake",
];

/**
 * `latest.svg`: advantage over the recipe per metric (log scale, > 1 = better than the recipe),
 * and the echo latency percentiles at 50% of the recipe's max rate (log scale).
 */
export function renderChart(results: BenchResults): string {
  const systems = (Object.keys(results.systems) as SystemName[]).filter((s) => s !== "recipe");
  const rows = results.ratios.filter((r) => PANEL_METRICS.includes(r.metric));
  const width = 980;
  const left = 340;
  const plotW = width - left - 60;
  const barH = 12;
  const groupH = systems.length * (barH + 2) + 12;
  const top1 = 80;
  const h1 = Math.max(1, rows.length) * groupH;
  const parts: string[] = [];

  // panel 1: advantage, log10 scale from 1/10 to 100
  const minL = -1;
  const maxL = 2;
  const x = (v: number) => left + ((Math.log10(Math.min(Math.max(v, 10 ** minL), 10 ** maxL)) - minL) / (maxL - minL)) * plotW;
  parts.push(`<text x="20" y="28" font-size="16" font-weight="600" ${FONT}>Advantage over the recipe (Node http + @socket.io/sticky + cluster-adapter)</text>`);
  parts.push(`<text x="20" y="46" font-size="12" fill="#555" ${FONT}>× better than the recipe, log scale (throughput: system ÷ recipe; latency, CPU and memory: recipe ÷ system).</text>`);
  parts.push(`<text x="20" y="61" font-size="12" fill="#555" ${FONT}>Hatched: a load generator was saturated (a lower bound). ‡: other processes used the CPU meanwhile.</text>`);
  for (const tick of [0.1, 0.2, 0.5, 1, 2, 3, 5, 10, 20, 50, 100]) {
    const tx = x(tick);
    parts.push(`<line x1="${tx}" y1="${top1 - 6}" x2="${tx}" y2="${top1 + h1}" stroke="${tick === 1 ? "#000" : "#ddd"}" stroke-width="${tick === 1 ? 1.5 : 1}"/>`);
    parts.push(`<text x="${tx}" y="${top1 + h1 + 14}" font-size="10" text-anchor="middle" fill="#555" ${FONT}>${tick}×</text>`);
  }
  rows.forEach((row, i) => {
    const gy = top1 + i * groupH;
    parts.push(`<text x="${left - 8}" y="${gy + groupH / 2}" font-size="12" text-anchor="end" dominant-baseline="middle" ${FONT}>${esc(row.metric)}</text>`);
    systems.forEach((s, k) => {
      const ratio = row.ratios[s];
      if (ratio == null || ratio <= 0) return;
      const advantage = row.better === "higher" ? ratio : 1 / ratio;
      const y = gy + 4 + k * (barH + 2);
      const x0 = x(1);
      const x1 = x(advantage);
      const hatched = row.saturated.includes(s) ? ` fill-opacity="0.45" stroke="${COLORS[s]}" stroke-dasharray="3,2"` : "";
      parts.push(`<rect x="${Math.min(x0, x1)}" y="${y}" width="${Math.max(1, Math.abs(x1 - x0))}" height="${barH}" fill="${COLORS[s]}"${hatched}/>`);
      const mark = row.disturbed.includes(s) ? " ‡" : "";
      parts.push(`<text x="${Math.max(x0, x1) + 4}" y="${y + barH - 2}" font-size="10" ${FONT}>${fmt(advantage)}×${mark}</text>`);
    });
  });

  // panel 2: echo latency percentiles at 50%
  const top2 = top1 + h1 + 70;
  const h2 = 220;
  const names = ["p50", "p90", "p99", "p999", "max"] as const;
  const all = (Object.keys(results.systems) as SystemName[]).flatMap((s) => {
    const outcome = results.scenarios.echo?.[s];
    const point = outcome?.ok ? outcome.data.rates.find((r) => Math.abs(r.fraction - 0.5) < 1e-9) : undefined;
    return point ? [{ s, p: point.latency }] : [];
  });
  parts.push(`<text x="20" y="${top2 - 30}" font-size="16" font-weight="600" ${FONT}>Echo latency at 50% of the recipe's max rate (open loop, ms, log scale)</text>`);
  if (all.length) {
    const values = all.flatMap(({ p }) => names.map((n) => Math.max(p[n], 0.01)));
    const lo = Math.floor(Math.log10(Math.min(...values)));
    const hi = Math.ceil(Math.log10(Math.max(...values)));
    const span = Math.max(1, hi - lo);
    const y = (v: number) => top2 + h2 - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / span) * h2;
    for (let e = lo; e <= hi; e++) {
      parts.push(`<line x1="${left}" y1="${y(10 ** e)}" x2="${left + plotW}" y2="${y(10 ** e)}" stroke="#ddd"/>`);
      parts.push(`<text x="${left - 6}" y="${y(10 ** e) + 4}" font-size="10" text-anchor="end" fill="#555" ${FONT}>${10 ** e} ms</text>`);
    }
    const gw = plotW / names.length;
    const bw = Math.min(28, (gw - 20) / all.length);
    names.forEach((n, gi) => {
      const gx = left + gi * gw + 10;
      parts.push(`<text x="${gx + (bw * all.length) / 2}" y="${top2 + h2 + 16}" font-size="12" text-anchor="middle" ${FONT}>${n === "p999" ? "p99.9" : n}</text>`);
      all.forEach(({ s, p }, k) => {
        const v = Math.max(p[n], 0.01);
        const bx = gx + k * bw;
        parts.push(`<rect x="${bx}" y="${y(v)}" width="${bw - 2}" height="${top2 + h2 - y(v)}" fill="${COLORS[s]}"/>`);
        parts.push(`<text x="${bx + bw / 2 - 1}" y="${y(v) - 3}" font-size="9" text-anchor="middle" ${FONT}>${fmt(p[n])}</text>`);
      });
    });
  } else {
    parts.push(`<text x="${left}" y="${top2 + 20}" font-size="12" ${FONT}>no echo figures in this run</text>`);
  }

  // legend
  const legendY = top2 + h2 + 44;
  (Object.keys(results.systems) as SystemName[]).forEach((s, k) => {
    const lx = 20 + k * 200;
    parts.push(`<rect x="${lx}" y="${legendY - 10}" width="12" height="12" fill="${COLORS[s]}"/>`);
    parts.push(`<text x="${lx + 18}" y="${legendY}" font-size="12" ${FONT}>${esc(results.systems[s]!.label)}</text>`);
  });
  const footer = `${results.machine.cpuModel}, ${results.machine.cores} cores, Node ${results.machine.node}; ${results.options.workers} workers; ${results.startedAt} (${results.options.mode})`;
  parts.push(`<text x="20" y="${legendY + 24}" font-size="10" fill="#777" ${FONT}>${esc(footer)}</text>`);
  const height = legendY + 40;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">\n<rect width="100%" height="100%" fill="#fff"/>\n${parts.join("\n")}\n</svg>\n`;
}

export function writeChart(file: string, results: BenchResults): void {
  writeFileSync(file, renderChart(results));
}
