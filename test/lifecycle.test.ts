import path from "node:path";
import net from "node:net";
import type { Socket } from "socket.io-client";
import { describe, expect, it } from "vitest";
import { byInstance, closeAll, connectMany, whoami, WS_ONLY } from "./helpers/clients";
import { isAlive, runMain } from "./helpers/process";
import { freePort, ROOT, startServer } from "./helpers/server";
import { ENGINES, UWS } from "./helpers/engines";

const reconnecting = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500 };

describe.each(ENGINES)("worker lifecycle, ENGINE=%s", (engine) => {
  it("SIGKILL of a worker: a replacement starts, its clients reconnect and work, other clients never disconnect", async () => {
    const server = await startServer({ workers: 4, engine });
    const sockets: Socket[] = [
      ...(await connectMany(server.url, 20, reconnecting)),
      ...(await connectMany(server.url, 20, { ...WS_ONLY, ...reconnecting })),
    ];
    try {
      const groups = await byInstance(sockets);
      expect(groups.size).toBe(4);
      const victimInstance = [...groups.keys()][0]!;
      const victimId = Number(victimInstance.replace("worker-", ""));
      const victimPid = server.logs.find((r) => r.event === "worker-start" && r.worker === victimId)!.pid as number;
      const victims = groups.get(victimInstance)!;
      const others = sockets.filter((s) => !victims.includes(s));
      const disconnectsOfOthers: string[] = [];
      for (const s of others) s.on("disconnect", (reason) => disconnectsOfOthers.push(reason));
      const reconnected = Promise.all(
        victims.map((s) => new Promise<void>((resolve) => s.io.once("reconnect", () => resolve()))),
      );

      process.kill(victimPid, "SIGKILL");
      const restart = await server.waitForLog((r) => r.event === "worker-start" && (r.worker as number) > 4);
      await server.waitForLog((r) => r.event === "listen" && r.worker === restart.worker);
      await reconnected;

      // the victims work again, on another worker; everybody answers
      for (const s of victims) {
        const info = await whoami(s);
        expect(info.instance).not.toBe(victimInstance);
      }
      await Promise.all(sockets.map((s) => s.timeout(30_000).emitWithAck("echo", "still here")));
      expect(disconnectsOfOthers).toEqual([]);
      const stats = await server.stats();
      expect(stats.workerRestarts).toBe(1);
      expect(stats.workers).toHaveLength(4);
      expect(isAlive(victimPid)).toBe(false);
      // the replacement takes new clients
      const late = await connectMany(server.url, 20);
      const lateGroups = await byInstance(late);
      expect(lateGroups.has(`worker-${restart.worker}`)).toBe(true);
      closeAll(late);
    } finally {
      closeAll(sockets);
      expect(await server.stop()).toBe(0);
    }
  });

  it("SIGTERM drains: clients are told to reconnect, workers exit, the primary exits 0 and the port closes", async () => {
    const server = await startServer({ workers: 2, engine });
    const sockets = [...(await connectMany(server.url, 5)), ...(await connectMany(server.url, 5, WS_ONLY))];
    const reasons = Promise.all(sockets.map((s) => new Promise<string>((r) => s.once("disconnect", r))));
    const workerPids = server.workerPids();
    expect(workerPids).toHaveLength(2);
    const started = Date.now();
    const code = await server.stop();
    console.log(`SIGTERM drain (${engine}): ${Date.now() - started} ms`);
    expect(code).toBe(0);
    // every worker drained by itself, within SHUTDOWN_TIMEOUT: the primary killed none
    expect(server.logs.filter((r) => r.event === "worker-kill")).toEqual([]);
    // "transport close" (not "io server disconnect"): a client reconnects on its own
    expect(new Set(await reasons)).toEqual(new Set(["transport close"]));
    for (const pid of workerPids) expect(isAlive(pid)).toBe(false);
    const refused = await new Promise<boolean>((resolve) => {
      const probe = net.connect(server.port, "127.0.0.1");
      probe.once("connect", () => {
        probe.destroy();
        resolve(false);
      });
      probe.once("error", () => resolve(true));
    });
    expect(refused).toBe(true);
    expect(server.logs.some((r) => r.event === "shutdown" && r.role === "primary")).toBe(true);
    closeAll(sockets);
  });

  it("workers that crash in a loop stop the cluster with exit 1 and a clear message", async () => {
    const result = await runMain({
      PORT: String(await freePort()),
      WORKERS: "2",
      ENGINE: engine,
      APP_MODULE: path.join(ROOT, "test", "fixtures", "crashing-app.js"),
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/workers are crashing in a loop/);
    expect(result.stderr).toMatch(/this application cannot start/);
  });
});

describe("engine fallback", () => {
  it("when the uWebSockets.js binary cannot load, one warning line, then the Node engine serves", async () => {
    const preload = path.join(ROOT, "test", "fixtures", "no-uws-binary.js");
    const server = await startServer({ workers: 2, engine: "uws", env: { NODE_OPTIONS: `--require ${preload}` } });
    try {
      const warnings = server.logs.filter((r) => r.level === 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.event).toBe("engine-fallback");
      expect(warnings[0]!.msg).toMatch(/^uWebSockets\.js cannot load \(.+\); using ENGINE=node\. For the uWS engine: .+/);
      // where no binary serves anyway (Node 22/24 on glibc < 2.38), the check says so before it loads one
      expect(warnings[0]!.reason).toMatch(UWS.ok ? /cannot load for .*: simulated: this uWebSockets\.js binary cannot load here$/ : /^no uWebSockets\.js binary/);
      const sockets = await connectMany(server.url, 10);
      const stats = await server.stats();
      expect(stats.workers.map((w) => w.engine)).toEqual(["node", "node"]);
      expect(await Promise.all(sockets.map((s) => s.timeout(30_000).emitWithAck("echo", "fallback")))).toEqual(
        sockets.map(() => "fallback"),
      );
      closeAll(sockets);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
