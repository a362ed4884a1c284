import { readFileSync } from "node:fs";
import http from "node:http";

/**
 * One `GET /healthz` on a new connection, as a load balancer's health check makes it (a kept-alive
 * connection that the server closes between two requests is a client's retry to make, not a
 * failure of the server): `undefined` for a 200, else why it failed.
 */
function probeOnce(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get(`${url}/healthz`, { agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200 ? undefined : String(res.statusCode)));
      res.on("error", (err) => resolve(`${err.message} (${(err as NodeJS.ErrnoException).code})`));
    });
    req.on("timeout", () => req.destroy(new Error("no answer within 5 s")));
    req.on("error", (err) => resolve(`${err.message} (${(err as NodeJS.ErrnoException).code ?? "error"})`));
  });
}

/**
 * Polls `GET /healthz` every `everyMs` until stopped: what a load balancer's health check sees
 * during a deploy. Each failure is kept with its reason and start time.
 */
export function probeHealthz(url: string, everyMs = 50): { stop(): Promise<{ ok: number; failed: string[] }> } {
  const probes = { ok: 0, failed: [] as string[] };
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const failure = await probeOnce(url);
      if (failure === undefined) probes.ok++;
      else probes.failed.push(`${failure} at ${started}`);
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (Date.now() - started))));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return probes;
    },
  };
}

/**
 * Whether Linux moves the connections queued at a closing SO_REUSEPORT listener to another one
 * (`net.ipv4.tcp_migrate_req`, see src/runtime/engines/uws/reuseport.ts). Without it, a uWS worker
 * that stops listening resets the few connections waiting in its accept queue: a kernel behaviour
 * the runtime warns about at start, not a failure of the deploy.
 */
export const QUEUED_CONNECTIONS_MIGRATE = (() => {
  try {
    return readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim() === "1";
  } catch {
    return false;
  }
})();

/**
 * The probes that failed for a reason other than that kernel behaviour: with the uWS engine and
 * `tcp_migrate_req` off, connection resets (printed) are the kernel's; everything else counts.
 */
export function unexplainedFailures(failed: string[], engine: string): string[] {
  if (engine !== "uws" || QUEUED_CONNECTIONS_MIGRATE) return failed;
  const resets = failed.filter((f) => f.includes("ECONNRESET"));
  if (resets.length > 0) console.log(`${resets.length} /healthz probes reset by the kernel (net.ipv4.tcp_migrate_req is 0): ${resets.join(", ")}`);
  return failed.filter((f) => !f.includes("ECONNRESET"));
}
