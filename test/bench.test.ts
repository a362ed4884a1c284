import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { BenchResults } from "../bench/report/results";
import { UWS } from "./helpers/engines";

const ROOT = path.resolve(__dirname, "..");
/**
 * Past this the run is stopped: a bound for a hung run, not a speed (the smoke run takes ~50 s on
 * a quiet 2-core machine, and took over 100 s there beside the rest of the suite and a CPU
 * burner); above the harness's own bound in smoke mode (4 minutes), which stops it first.
 */
const LIMIT_MS = 300_000;
/** Raw uWS needs a uWebSockets.js binary: it is left out where none loads (Node 22/24 on glibc < 2.38). */
const SYSTEMS = (UWS.ok ? ["product", "raw", "recipe", "single"] : ["product", "recipe", "single"]) as Array<"product" | "raw" | "recipe" | "single">;

interface Run {
  code: number | null;
  stderr: string;
}

/** Runs `bench/run.ts` in one process (node --import tsx) so that a timeout can stop it by PID. */
function runBench(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "bench", "run.ts"), ...args], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    // SIGTERM lets the harness stop its servers and generators; SIGKILL if it does not
    const term = setTimeout(() => child.kill("SIGTERM"), LIMIT_MS);
    const kill = setTimeout(() => child.kill("SIGKILL"), LIMIT_MS + 15_000);
    child.on("exit", (code) => {
      clearTimeout(term);
      clearTimeout(kill);
      resolve({ code, stderr });
    });
  });
}

describe("benchmark harness (smoke run)", () => {
  const out = mkdtempSync(path.join(os.tmpdir(), "bench-smoke-"));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it(
    "runs every system and scenario with tiny settings and writes the JSON, the Markdown table and the chart",
    async () => {
      const run = await runBench(["--smoke", "--systems", SYSTEMS.join(","), "--out", out, "--no-progress"]);
      expect(run.code, run.stderr.slice(-3000)).toBe(0);
      for (const file of ["latest.json", "latest.md", "latest.svg"]) expect(existsSync(path.join(out, file)), file).toBe(true);

      const results = JSON.parse(readFileSync(path.join(out, "latest.json"), "utf8")) as BenchResults;
      expect(results.machine.cores).toBeGreaterThan(0);
      expect(results.machine.packages["socket.io"]).toMatch(/^4\.8\./);
      expect(Object.keys(results.systems).sort()).toEqual(SYSTEMS);

      // every scenario ran (or says why it does not apply), none failed
      for (const [scenario, bySystem] of Object.entries(results.scenarios)) {
        for (const [system, outcome] of Object.entries(bySystem ?? {})) {
          const label = `${scenario} / ${system}`;
          expect(outcome, label).toBeDefined();
          const error = "error" in outcome! ? outcome.error : undefined;
          // with the smoke run's few receivers, a balancer may put them all on the sender's worker
          if (scenario === "cross" && error === "no receiver on another worker than the sender") continue;
          expect(error, label).toBeUndefined();
        }
      }
      for (const system of SYSTEMS) {
        const ramp = results.scenarios.ramp?.[system];
        const echo = results.scenarios.echo?.[system];
        const fanout = results.scenarios.fanout?.[system];
        const rooms = results.scenarios.rooms?.[system];
        const http = results.scenarios.http?.[system];
        if (!ramp?.ok || !echo?.ok || !fanout?.ok || !rooms?.ok || !http?.ok) throw new Error(`${system}: a scenario did not run`);
        // every client of the product connects; the baselines are measured as they are (the canonical
        // recipe drops a connection now and then on a loaded machine: README, "Limits of these figures")
        if (system === "product") expect(ramp.data.websocket.connected, system).toBe(results.options.clients);
        else expect(ramp.data.websocket.connected, system).toBeGreaterThan(0);
        expect(ramp.data.websocket.ratePerSec, system).toBeGreaterThan(0);
        expect(ramp.data.memory.loadedRssMB, system).toBeGreaterThan(0);
        expect(echo.data.max.throughputPerSec, system).toBeGreaterThan(0);
        expect(echo.data.rates[0]!.latency.p99, system).toBeGreaterThan(0);
        expect(fanout.data.max.deliveredPerSec, system).toBeGreaterThan(0);
        if (system === "product") expect(fanout.data.max.delivered, system).toBe(fanout.data.max.expected);
        expect(fanout.data.atRate!.latency.p50, system).toBeGreaterThan(0);
        expect(rooms.data.max.deliveredPerSec, system).toBeGreaterThan(0);
        for (const endpoint of http.data.endpoints) expect(endpoint.requestsPerSec, `${system} ${endpoint.path}`).toBeGreaterThan(0);
      }
      const cross = results.scenarios.cross?.product;
      expect(cross?.ok && cross.data.max.deliveredPerSec).toBeGreaterThan(0);
      const hold = results.scenarios.hold?.product;
      expect(hold?.ok && hold.data.everyoneReceived).toBe(true);

      // the summary table has the product's ratio to the recipe, and the targets are checked
      const throughput = results.ratios.find((r) => r.metric === "Echo: max throughput");
      expect(throughput?.ratios.product).toBeGreaterThan(0);
      expect(results.targets.map((t) => t.id)).toContain("fanout-vs-recipe");
      const markdown = readFileSync(path.join(out, "latest.md"), "utf8");
      expect(markdown).toContain("## Summary: figures and ratio to the recipe");
      expect(markdown).toMatch(/\| Echo: max throughput \| acks\/s \| higher \| [\d,]+[ †‡]* \| [\d,]+ \([\d.]+×\)/);
      expect(readFileSync(path.join(out, "latest.svg"), "utf8")).toMatch(/^<svg [^>]*>[\s\S]*<rect[\s\S]*<\/svg>\s*$/);
    },
    LIMIT_MS + 30_000,
  );
});
