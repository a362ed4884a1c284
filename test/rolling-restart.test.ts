import type { Socket } from "socket.io-client";
import { describe, expect, it } from "vitest";
import { closeAll, connectMany, whoami, WS_ONLY } from "./helpers/clients";
import { probeHealthz, unexplainedFailures } from "./helpers/healthz-probe";
import { startEchoLoad } from "./helpers/echo-load";
import { isAlive } from "./helpers/process";
import { startServer } from "./helpers/server";
import { ENGINES } from "./helpers/engines";

const reconnecting = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 1000 };

describe.each(ENGINES)("rolling restart on SIGHUP, ENGINE=%s", (engine) => {
  it("replaces every worker one at a time under load; only the retired worker's clients reconnect; no request times out", async () => {
    const server = await startServer({ workers: 4, engine });
    const sockets: Socket[] = [
      ...(await connectMany(server.url, 20, reconnecting)),
      ...(await connectMany(server.url, 20, { ...WS_ONLY, ...reconnecting })),
    ];
    const where = new Map<Socket, string>();
    const disconnections: Array<{ instance: string; reason: string; at: number }> = [];
    const bounces = new Map<Socket, number>();
    await Promise.all(sockets.map(async (s) => where.set(s, (await whoami(s)).instance)));
    for (const s of sockets) {
      s.on("disconnect", (reason) => {
        disconnections.push({ instance: where.get(s)!, reason, at: Date.now() });
        bounces.set(s, (bounces.get(s) ?? 0) + 1);
      });
      s.on("connect", () => void whoami(s).then((info) => where.set(s, info.instance), () => undefined));
    }
    const oldPids = server.workerPids();
    // load: every client sends an acked echo every 50 ms during the restart
    const echoes = startEchoLoad(sockets, 50, 20_000);
    try {
      // what a load balancer's health check sees: the port answers all through the deploy
      const probing = probeHealthz(server.url);
      const started = Date.now();
      server.child.kill("SIGHUP");
      await server.waitForLog((r) => r.event === "rolling-restart-done", 60_000);
      const finished = Date.now();
      await echoes.stop();
      const probes = await probing.stop();
      expect(unexplainedFailures(probes.failed, engine)).toEqual([]);
      expect(probes.ok).toBeGreaterThan(0);
      // a request in flight when its worker retires is rejected by the client ("socket has been
      // disconnected"), never silently dropped or timed out; there is at most one per disconnection
      expect(echoes.failures.filter((f) => f !== "socket has been disconnected")).toEqual([]);
      expect(echoes.failures.length).toBeLessThanOrEqual(disconnections.length);
      // every request got its answer or that rejection: none was lost
      expect(echoes.acked + echoes.failures.length).toBe(echoes.sent);
      expect(echoes.acked).toBeGreaterThan(0);
      console.log(`rolling restart (${engine}): ${((finished - started) / 1000).toFixed(1)} s, ${echoes.sent} echoes sent, ${echoes.acked} acked, ${echoes.failures.length} rejected in flight, ${disconnections.length} disconnections, ${probes.ok} /healthz probes ok`);
      // every old worker is gone, 4 new ones serve
      for (const pid of oldPids) expect(isAlive(pid)).toBe(false);
      const stats = await server.stats();
      expect(stats.workers).toHaveLength(4);
      expect(stats.workers.every((w) => !oldPids.includes(w.pid))).toBe(true);
      // every disconnection was a client of a worker being retired, told to reconnect
      const exits = server.logs.filter((r) => r.event === "worker-exit");
      for (const d of disconnections) {
        expect(d.reason).toBe("transport close");
        const exit = exits.find((r) => `worker-${r.worker}` === d.instance);
        expect(exit, `${d.instance} was retired`).toBeTruthy();
        expect(d.at).toBeGreaterThanOrEqual(started);
      }
      expect(disconnections.length).toBeGreaterThan(0);
      // each client moved once at most: it reconnected to a new worker, never to one retired later
      expect(Math.max(...bounces.values())).toBe(1);
      // everyone is connected again and answers
      await Promise.all(sockets.map((s) => s.timeout(20_000).emitWithAck("echo", "after")));
    } finally {
      void echoes.stop();
      closeAll(sockets);
      expect(await server.stop()).toBe(0);
    }
  });
});
