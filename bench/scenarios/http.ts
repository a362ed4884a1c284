import type { HttpLoadMessage, HttpLoadResult } from "../load/http-load";
import { isAlive, LoadMeter, signal, sleep, spawnNode } from "../lib/processes";
import { generatorLoad } from "./common";
import type { PhaseLoad, Scenario } from "./types";

export interface HttpEndpoint extends HttpLoadResult {
  name: string;
  path: string;
  load: PhaseLoad;
}

export interface HttpData {
  connections: number;
  endpoints: HttpEndpoint[];
}

/** The polling handshake last: every request leaves a session behind until its ping timeout. */
const ENDPOINTS = [
  { name: "healthz", path: "/healthz" },
  { name: "index", path: "/" },
  { name: "client", path: "/socket.io/socket.io.js" },
  { name: "handshake", path: "/socket.io/?EIO=4&transport=polling" },
] as const;

/** HTTP with autocannon (in a process of its own): `/healthz`, `/`, `/socket.io/socket.io.js`, the polling handshake. */
export const http: Scenario<HttpData> = {
  name: "http",
  title: "HTTP (autocannon)",
  summarize: (d) => d.endpoints.map((e) => `${e.name} ${e.requestsPerSec}/s`).join(", "),
  async run({ options, spec, system, progress, fleet, scripts }) {
    const notes: string[] = [];
    const endpoints = ENDPOINTS.filter((e) => e.name !== "handshake" || spec.supports.polling);
    if (endpoints.length < ENDPOINTS.length) notes.push("handshake: no Engine.IO polling transport (n/a)");
    const byUrl = new Map(endpoints.map((e) => [`${system.url}${e.path}`, e]));
    const pids = await system.pids();
    const results: HttpEndpoint[] = [];
    const child = spawnNode([scripts.file("httpLoad")], { env: scripts.env, stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const pid = child.pid!;
    try {
      await new Promise<void>((resolve, reject) => {
        let cpu = new LoadMeter(pids, [pid]);
        const timer = setTimeout(() => reject(new Error("autocannon did not finish")), endpoints.length * (options.httpDuration * 1000 + 15_000));
        child.on("message", (message: HttpLoadMessage) => {
          const endpoint = byUrl.get(message.url)!;
          if (message.type === "start") {
            progress.phase("http", spec.name, endpoint.path.slice(0, 22), "");
            cpu = new LoadMeter(pids, [pid]);
            return;
          }
          const measuredCpu = cpu.read();
          if (!message.ok) {
            notes.push(`${endpoint.name}: autocannon failed: ${message.error}`);
            return;
          }
          const r = message.result;
          if (r.non2xx > 0 || r.errors > 0) notes.push(`${endpoint.name}: ${r.non2xx} non-2xx answers, ${r.errors} errors (${r.timeouts} timeouts)`);
          results.push({ name: endpoint.name, path: endpoint.path, ...r, load: { generator: generatorLoad([message.usage]), ...measuredCpu } });
        });
        child.once("exit", (code) => {
          clearTimeout(timer);
          if (results.length + notes.filter((n) => n.includes("autocannon failed")).length >= endpoints.length) resolve();
          else reject(new Error(`autocannon process exited (${code}) after ${results.length} endpoints`));
        });
        child.send({ urls: [...byUrl.keys()], connections: options.httpConnections, durationS: options.httpDuration, threads: fleet.size > 1 && options.mode !== "smoke" ? fleet.size : 0 });
      });
    } finally {
      const deadline = Date.now() + 3000;
      while (isAlive(pid) && Date.now() < deadline) await sleep(20);
      if (isAlive(pid)) signal(pid, "SIGKILL");
    }
    return { data: { connections: options.httpConnections, endpoints: results }, notes };
  },
};
