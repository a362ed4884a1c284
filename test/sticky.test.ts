import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byInstance, closeAll, connectMany, eventually, POLLING_ONLY, upgraded, whoami, WS_ONLY } from "./helpers/clients";
import { startServer, type RunningServer } from "./helpers/server";
import { ENGINES, UWS } from "./helpers/engines";


describe.each(ENGINES)("sticky sessions, 4 workers, ENGINE=%s", (engine) => {
  /** Default settings: polling-only and WebSocket-only clients. */
  let server: RunningServer;
  /** Default clients (polling, then the upgrade), with the upgrade window explained below. */
  let upgrading: RunningServer;
  beforeAll(async () => {
    server = await startServer({ workers: 4, engine });
    // UPGRADE_WINDOW bounds how late a new session's WebSocket may arrive and still move the
    // session to the worker it reached (later, the client stays on polling, forwarded). A
    // 200-client burst from one test process on a busy 2-core machine can take seconds between
    // a handshake and its upgrade: the window here is a bound on that stall, not a speed (the
    // default, 1 s, is enough for 300 clients on a quiet machine). Clients that upgrade are
    // released at their upgrade, so the window costs them nothing; polling-only clients wait it
    // out before their connection, hence the bound below PING_INTERVAL × ⅔ (16.6 s by default).
    upgrading = await startServer({ workers: 4, engine, env: { UPGRADE_WINDOW: "15000" } });
  });
  afterAll(async () => {
    expect(await upgrading.stop()).toBe(0);
    expect(await server.stop()).toBe(0);
  });

  it("200 default clients all connect, all upgrade to WebSocket, each acks an emit", async () => {
    const sockets = await connectMany(upgrading.url, 200);
    try {
      await Promise.all(sockets.map((s) => upgraded(s)));
      expect(sockets.every((s) => s.io.engine.transport.name === "websocket")).toBe(true);
      const answers = await Promise.all(sockets.map((s, i) => s.timeout(30_000).emitWithAck("echo", { i })));
      expect(answers).toEqual(sockets.map((_, i) => ({ i })));
      const infos = await Promise.all(sockets.map(whoami));
      expect(infos.every((info) => info.transport === "websocket")).toBe(true);
      // the clients really are spread over the 4 workers
      expect(new Set(infos.map((info) => info.instance)).size).toBe(4);
      if (engine === "uws") {
        const stats = await upgrading.stats();
        const takeovers = stats.workers.reduce((sum, w) => sum + w.takeovers, 0);
        // most WebSockets land on a worker that does not own the session: it takes it over
        expect(takeovers).toBeGreaterThan(50);
        expect(stats.workers.reduce((sum, w) => sum + w.takeoversRefused, 0)).toBe(0);
      }
    } finally {
      closeAll(sockets);
    }
  });

  it("after the upgrade, no frame crosses processes while 100 default clients exchange messages", async () => {
    const sockets = await connectMany(upgrading.url, 100);
    try {
      await Promise.all(sockets.map((s) => upgraded(s)));
      const before = await upgrading.stats();
      for (let round = 0; round < 10; round++) {
        await Promise.all(sockets.map((s, i) => s.timeout(30_000).emitWithAck("echo", `${round}:${i}`)));
      }
      const after = await upgrading.stats();
      const relayed = (stats: typeof before) => stats.workers.reduce((sum, w) => sum + w.relayedFrames, 0);
      expect(relayed(after) - relayed(before)).toBe(0);
    } finally {
      closeAll(sockets);
    }
  });

  for (const [label, options] of [
    ["polling-only", POLLING_ONLY],
    ["WebSocket-only", WS_ONLY],
  ] as const) {
    it(`100 ${label} clients exchange 20 messages each way and get broadcasts from other workers`, async () => {
      const sockets = await connectMany(server.url, 100, options);
      try {
        const groups = await byInstance(sockets);
        expect(groups.size).toBe(4);
        // 20 messages each way: 20 acked emits, 20 server→client answers
        await Promise.all(
          sockets.map(async (socket, i) => {
            for (let n = 0; n < 20; n++) {
              expect(await socket.timeout(30_000).emitWithAck("echo", { i, n })).toEqual({ i, n });
            }
          }),
        );
        // one sender per worker broadcasts; every client receives each exactly once
        const senders = [...groups.values()].map((group) => group[0]!);
        const received = new Map<Socket, string[]>(sockets.map((s) => [s, []]));
        for (const socket of sockets) socket.on("broadcast", (payload: string) => received.get(socket)!.push(payload));
        const allReceived = Promise.all(
          sockets.map(
            (socket) =>
              new Promise<void>((resolve) => {
                const check = () => {
                  if (received.get(socket)!.length >= senders.length) resolve();
                };
                socket.on("broadcast", check);
              }),
          ),
        );
        senders.forEach((sender, k) => sender.emit("shout", { to: "all", payload: `from-${k}` }));
        await allReceived;
        const expected = senders.map((_, k) => `from-${k}`).sort();
        for (const socket of sockets) expect([...received.get(socket)!].sort()).toEqual(expected);
      } finally {
        closeAll(sockets);
      }
    });
  }
});

// the relay is the uWS engine's: the Node engine routes a WebSocket by its session before the upgrade
describe.skipIf(!UWS.ok)("uWS: a WebSocket that reaches another worker once its session is the application's", () => {
  it("is relayed to the worker that has the session: every default client upgrades, gets every broadcast, once", { timeout: 120_000 }, async () => {
    // UPGRADE_WINDOW=0: sessions go to the application at once, so no session can move to the
    // worker its WebSocket reaches (as when a client's upgrade comes late)
    const server = await startServer({ workers: 4, engine: "uws", env: { UPGRADE_WINDOW: "0" } });
    const sockets = await connectMany(server.url, 60);
    try {
      await Promise.all(sockets.map((s) => upgraded(s)));
      const infos = await Promise.all(sockets.map(whoami));
      expect(infos.every((info) => info.transport === "websocket")).toBe(true);
      const answers = await Promise.all(sockets.map((s, i) => s.timeout(30_000).emitWithAck("echo", { i })));
      expect(answers).toEqual(sockets.map((_, i) => ({ i })));
      // broadcasts to all and to a room (native publishes reach relayed WebSockets too)
      await Promise.all(sockets.slice(0, 30).map((s) => s.timeout(30_000).emitWithAck("join", "relay-room")));
      const received = new Map<Socket, string[]>(sockets.map((s) => [s, []]));
      for (const s of sockets) s.on("broadcast", (payload: string) => received.get(s)!.push(payload));
      await sockets[59]!.timeout(30_000).emitWithAck("shout", { to: "all", payload: "all" });
      await sockets[59]!.timeout(30_000).emitWithAck("shout", { to: { room: "relay-room" }, payload: "room" });
      await eventually(() => sockets.every((s, i) => received.get(s)!.length === (i < 30 ? 2 : 1)), 30_000, "the broadcasts");
      sockets.forEach((s, i) => expect(received.get(s)).toEqual(i < 30 ? ["all", "room"] : ["all"]));
      const stats = await server.stats();
      const relayed = stats.workers.reduce((sum, w) => sum + w.relayedUpgrades, 0);
      console.log(`relayed upgrades: ${relayed} of 60 clients`);
      expect(relayed).toBeGreaterThan(0);
    } finally {
      closeAll(sockets);
      expect(await server.stop()).toBe(0);
    }
  });
});
