/**
 * Summarizes V8 CPU profiles (from `npm run bench -- --cpu-prof DIR`): the functions with the
 * most self time, per process and over all of them.
 *
 *   npx tsx bench/profile.ts DIR [--top 25]
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

const where = (node: ProfileNode) => {
  const url = node.callFrame.url.replace(/^file:\/\//, "");
  const short = url.includes("node_modules/") ? url.slice(url.lastIndexOf("node_modules/") + 13) : url.replace(process.cwd() + "/", "");
  return `${node.callFrame.functionName || "(anonymous)"} ${short ? `${short}:${node.callFrame.lineNumber + 1}` : ""}`.trim();
};

/** Self time (µs) per function, and the profile's total. */
function selfTimes(profile: CpuProfile): { total: number; byFunction: Map<string, number> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i]!);
    const dt = deltas[i + 1] ?? 0;
    if (!node || dt <= 0) continue;
    total += dt;
    const key = where(node);
    byFunction.set(key, (byFunction.get(key) ?? 0) + dt);
  }
  return { total, byFunction };
}

function print(title: string, total: number, byFunction: Map<string, number>, top: number): void {
  const busy = total - (byFunction.get("(idle)") ?? 0);
  process.stdout.write(`\n${title}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy\n`);
  const rows = [...byFunction.entries()].filter(([k]) => k !== "(idle)").sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [name, us] of rows) {
    process.stdout.write(`  ${((us / Math.max(busy, 1)) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}\n`);
  }
}

const [dir, ...rest] = process.argv.slice(2);
if (!dir) {
  process.stderr.write("usage: npx tsx bench/profile.ts DIR [--top N]\n");
  process.exit(2);
}
const topIndex = rest.indexOf("--top");
const top = topIndex >= 0 ? Number(rest[topIndex + 1]) : 25;
const all = new Map<string, number>();
let grand = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).sort()) {
  const { total, byFunction } = selfTimes(JSON.parse(readFileSync(path.join(dir, file), "utf8")) as CpuProfile);
  print(file, total, byFunction, Math.min(top, 12));
  grand += total;
  for (const [k, v] of byFunction) all.set(k, (all.get(k) ?? 0) + v);
}
print("all processes", grand, all, top);
