import path from "node:path";
import { childrenOf, freePort, isAlive, sleep } from "../lib/processes";
import { gcAll, launch, runningSystem } from "./launch";
import type { SystemSpec } from "./types";

interface ClusterStats {
  primaryPid: number;
  workers: Array<{ pid: number; engine: string }>;
}

/** `GET /stats` on the product's admin listener (`ADMIN_PORT`). */
async function clusterStats(adminPort: number): Promise<ClusterStats> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/stats`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`GET /stats: HTTP ${res.status} ${(await res.text()).trim()}`);
  return (await res.json()) as ClusterStats;
}

/**
 * Every PID of the product: from `GET /stats` (a few tries: it answers 500 when a worker is too
 * busy to report within its timeout), else the primary's child processes as /proc shows them.
 */
async function productPids(adminPort: number, primary: number): Promise<number[]> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const stats = await clusterStats(adminPort);
      return [stats.primaryPid, ...stats.workers.map((w) => w.pid)];
    } catch {
      await sleep(200);
    }
  }
  return [primary, ...childrenOf(primary)];
}

/** The product: `node dist/main.js`, uWS engine, sticky routing, cluster adapter, `APP=echo`. */
export const product: SystemSpec = {
  name: "product",
  label: "product (uWS)",
  description: "this project: uWebSockets.js engine, sticky routing, @socket.io/cluster-adapter (node dist/main.js, APP=echo)",
  supports: { polling: true, multiWorker: true },
  async start({ root, scripts, port, workers, nodeArgs, env }) {
    const adminPort = await freePort();
    const launched = launch(path.join(root, "dist", "main.js"), {
      ...process.env,
      PORT: String(port),
      HOST: "127.0.0.1",
      ADMIN_PORT: String(adminPort),
      WORKERS: String(workers),
      ENGINE: "uws",
      APP: "echo",
      LOG_LEVEL: "info",
      NODE_OPTIONS: `--require ${scripts.file("gcHook")}`,
      // the load comes from one address (127.0.0.1): per-address and per-socket rate limits off
      MAX_CONNECTIONS_PER_IP: "0",
      CONNECTION_RATE: "0",
      EVENT_RATE: "0",
      ...env,
    }, nodeArgs);
    await launched.waitFor((line) => line.role === "primary" && line.event === "listen", 30_000);
    const notes: string[] = Object.entries(env).map(([key, value]) => `${key}=${value}`);
    const fallback = launched.lines.find((line) => line.event === "engine-fallback");
    if (fallback) notes.push(`engine fell back to node: ${String(fallback.reason)}`);
    const first = await clusterStats(adminPort);
    // kept while they live: `/stats` answers with the next metrics collection (at most one a
    // second), and the scenarios ask for the PIDs at every phase
    let known = [first.primaryPid, ...first.workers.map((w) => w.pid)];
    const pids = async () => {
      if (!known.every(isAlive)) known = await productPids(adminPort, launched.child.pid!);
      return known;
    };
    const engines = [...new Set(first.workers.map((w) => w.engine))];
    if (engines.some((e) => e !== "uws")) notes.push(`engine: ${engines.join(", ")}`);
    const system = runningSystem(launched, port, workers, pids, notes);
    await system.pids();
    return { ...system, gc: async () => gcAll(await system.pids()) };
  },
};
