import { describe, expect, it } from "vitest";
import { closeAll, connectMany } from "./helpers/clients";
import { UWS } from "./helpers/engines";
import { startServer } from "./helpers/server";

describe(`ENGINE=uws on Node ${process.versions.node}: the primary names the uWebSockets.js build, or says in one line why none serves`, () => {
  it.runIf(UWS.ok)("the start record names the build and version that serve; the workers run uWS", async () => {
    if (!UWS.ok) return;
    const server = await startServer({ workers: 2, engine: "uws" });
    try {
      const start = server.logs.find((r) => r.event === "start" && r.role === "primary")!;
      expect(start).toMatchObject({ engine: "uws", node: process.version, uws: { package: UWS.build.package, version: UWS.build.version, abi: process.versions.modules } });
      expect(start.msg).toMatch(new RegExp(`^starting: engine: uws, uWebSockets\\.js ${UWS.build.version.replace(/\./g, "\\.")}\\b`));
      expect(server.logs.filter((r) => r.event === "engine-fallback")).toEqual([]);
      expect((await server.stats()).workers.map((w) => w.engine)).toEqual(["uws", "uws"]);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it.runIf(!UWS.ok)("one warning line says why, with the build found and what to do; the Node engine serves", async () => {
    if (UWS.ok) return;
    const server = await startServer({ workers: 2, engine: "uws" });
    try {
      const warnings = server.logs.filter((r) => r.level >= 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ event: "engine-fallback", reason: UWS.reason, remedy: UWS.remedy });
      expect(warnings[0]!.msg).toBe(`uWebSockets.js cannot load (${UWS.reason}); using ENGINE=node. For the uWS engine: ${UWS.remedy}`);
      expect(server.logs.find((r) => r.event === "start" && r.role === "primary")).toMatchObject({ engine: "node", msg: "starting: engine: node (uWebSockets.js cannot load here)" });
      const sockets = await connectMany(server.url, 4);
      expect(await Promise.all(sockets.map((s) => s.timeout(30_000).emitWithAck("echo", "fallback")))).toEqual(sockets.map(() => "fallback"));
      closeAll(sockets);
      expect((await server.stats()).workers.map((w) => w.engine)).toEqual(["node", "node"]);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
