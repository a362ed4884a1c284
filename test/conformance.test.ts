import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, startServer } from "./helpers/server";
import { ENGINES } from "./helpers/engines";

const run = promisify(execFile);

/** The official suites live in shared/, beside the repository (never committed into it). */
const SOURCE = process.env.CONFORMANCE_DIR ?? path.resolve(ROOT, "..", "shared", "conformance");
const SUITES = [
  { name: "engine.io-v4", tests: 25 },
  { name: "socket.io-v5", tests: 32 },
];

/** Copies a suite to a temporary folder keyed by its lock file, and installs it once. */
async function prepare(suite: string): Promise<string> {
  const lock = readFileSync(path.join(SOURCE, suite, "package-lock.json"));
  const dir = path.join(os.tmpdir(), `sio-conformance-${suite}-${createHash("sha1").update(lock).digest("hex").slice(0, 12)}`);
  if (!existsSync(path.join(dir, "node_modules", ".bin", "mocha"))) {
    rmSync(dir, { recursive: true, force: true });
    cpSync(path.join(SOURCE, suite), dir, { recursive: true });
    await run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir, timeout: 300_000 });
  }
  return dir;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, () => probe.close(() => resolve(true)));
  });
}

interface MochaReport {
  stats: { passes: number; failures: number; tests: number };
  failures: Array<{ fullTitle: string; err: { message?: string } }>;
}

async function mocha(dir: string): Promise<MochaReport> {
  const result = await run(path.join(dir, "node_modules", ".bin", "mocha"), ["test-suite.js", "--reporter", "json"], {
    cwd: dir,
    timeout: 180_000,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? "" }));
  return JSON.parse(result.stdout) as MochaReport;
}

describe("official protocol suites (57 tests) against 4 workers on port 3000", () => {
  const dirs = new Map<string, string>();
  beforeAll(async () => {
    expect(existsSync(SOURCE), `conformance suites not found at ${SOURCE}`).toBe(true);
    for (const suite of SUITES) dirs.set(suite.name, await prepare(suite.name));
  });

  // One retry: "closes the session upon duplicate poll requests" sends a second poll 5 ms after the
  // first; when the first reaches a non-owner worker and is forwarded while the second lands on the
  // owner, a scheduling delay over 5 ms on this 2-core machine (4 workers, the suite, vitest) makes
  // the second arrive first. Seen in about 1 run in 10 of the full test run, never alone.
  it.each(ENGINES)("ENGINE=%s passes both suites, 57/57", { retry: 1 }, async (engine) => {
    expect(await portIsFree(3000), "the suites need port 3000 free").toBe(true);
    // what `npm run start:conformance` runs
    const server = await startServer({ port: 3000, workers: 4, engine, app: "conformance", env: { HOST: "0.0.0.0" } });
    try {
      for (const suite of SUITES) {
        const report = await mocha(dirs.get(suite.name)!);
        const failed = report.failures.map((f) => `${f.fullTitle}: ${f.err.message ?? ""}`);
        expect(failed, `${suite.name} failures`).toEqual([]);
        expect(report.stats.passes).toBe(suite.tests);
      }
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
