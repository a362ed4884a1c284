/**
 * `npm run bench:cold-start`: how long the product takes from process start to serving, for 1, 2
 * and 4 workers: `node dist/main.js` is spawned and `GET /readyz` polled every 5 ms until it
 * answers 200 (a worker listens and takes clients); then the RSS of every process of the cluster.
 * Each count of workers is started `--runs` times (default 3), one at a time; the figures are
 * printed as a table (they depend on the machine: a benchmark, not a test).
 */
import path from "node:path";
import { childrenOf, freePort, rssOf, sleep, spawnNode, stopProcess } from "./lib/processes";

const ROOT = path.resolve(__dirname, "..");
const runs = Number(/--runs[= ](\d+)/.exec(process.argv.slice(2).join(" "))?.[1] ?? 3);

async function coldStart(workers: number): Promise<{ ms: number; rssMb: number }> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const started = process.hrtime.bigint();
  const child = spawnNode([path.join(ROOT, "dist", "main.js")], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), ADMIN_PORT: String(adminPort), HOST: "127.0.0.1", WORKERS: String(workers), APP: "chat", LOG_LEVEL: "warn" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`no 200 from /readyz within 30 s (${workers} workers)`);
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status === 200, () => false);
      if (ok) break;
      await sleep(5);
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // every worker listening (the primary's `listen`), then the footprint of the idle cluster
    await sleep(1000);
    const pids = [child.pid!, ...childrenOf(child.pid!)];
    return { ms, rssMb: pids.reduce((sum, pid) => sum + rssOf(pid), 0) / 2 ** 20 };
  } finally {
    await stopProcess(child.pid!, childrenOf(child.pid!), 10_000);
  }
}

async function main(): Promise<void> {
  const rows: string[] = ["| workers | process start → /readyz 200 (ms), each run | RSS of the idle cluster 1 s later (MB) |", "| --- | --- | --- |"];
  for (const workers of [1, 2, 4]) {
    const results = [];
    for (let i = 0; i < runs; i++) results.push(await coldStart(workers));
    rows.push(`| ${workers} | ${results.map((r) => Math.round(r.ms)).join(", ")} | ${results.map((r) => r.rssMb.toFixed(0)).join(", ")} |`);
  }
  console.log(`cold start, ${process.version}, APP=chat, ENGINE default (uws):\n${rows.join("\n")}`);
}

void main().catch((err: Error) => {
  console.error(err.message);
  process.exitCode = 1;
});
