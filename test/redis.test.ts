import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatClient, type ChatClient } from "./helpers/chat";
import { closeAll, connect, connectMany, eventually, record, WS_ONLY } from "./helpers/clients";
import { startNginx, startRedisServer, type ChildService } from "./helpers/redis";
import { freePort, startServer, type RunningServer } from "./helpers/server";

/**
 * ADAPTER=redis: two instances of the product (2 workers each, different ports) on one real
 * redis-server, as two machines would be.
 */
describe("ADAPTER=redis: two instances on one Redis", () => {
  let redis: ChildService & { url: string };
  const running: RunningServer[] = [];
  const start = async (app: string) => {
    const server = await startServer({ workers: 2, app, env: { ADAPTER: "redis", REDIS_URL: redis.url } });
    running.push(server);
    return server;
  };

  beforeAll(async () => {
    redis = await startRedisServer(); // installs Debian's redis-server first when it is missing
  }, 15 * 60_000);
  afterAll(async () => {
    await Promise.all(running.map((s) => s.stop()));
    await redis?.stop();
  });

  it("broadcasts reach the clients of both instances exactly once; fetchSockets and serverSideEmit span both", async () => {
    const [a, b] = await Promise.all([start("echo"), start("echo")]);
    const sockets: Socket[] = [];
    try {
      sockets.push(...(await connectMany(a.url, 4)), ...(await connectMany(a.url, 4, WS_ONLY)));
      sockets.push(...(await connectMany(b.url, 4)), ...(await connectMany(b.url, 4, WS_ONLY)));
      const seen = sockets.map((s) => record<[{ n: number }, string]>(s, "broadcast"));
      for (const [i, sender] of [sockets[0]!, sockets[12]!].entries()) {
        await sender.timeout(5000).emitWithAck("shout", { to: "all", payload: { n: i } });
      }
      await sockets[8]!.timeout(5000).emitWithAck("shout", { to: "others", payload: { n: 2 } });
      await eventually(() => seen.every((s, i) => s.length === (i === 8 ? 2 : 3)), 10_000, "every broadcast");
      await new Promise((r) => setTimeout(r, 300)); // no duplicate arrives late
      seen.forEach((s, i) => expect(s.map(([p]) => p.n), `client ${i}`).toEqual(i === 8 ? [0, 1] : [0, 1, 2]));

      // rooms: members on both instances
      const members = [sockets[1]!, sockets[5]!, sockets[9]!, sockets[13]!];
      await Promise.all(members.map((s) => s.timeout(5000).emitWithAck("join", "blue")));
      await sockets[2]!.timeout(5000).emitWithAck("shout", { to: { room: "blue" }, payload: { n: 3 } });
      await eventually(() => members.every((s) => seen[sockets.indexOf(s)]!.some(([p]) => p.n === 3)), 10_000, "room broadcast");
      await new Promise((r) => setTimeout(r, 300));
      seen.forEach((s, i) => expect(s.filter(([p]) => p.n === 3).length).toBe(members.includes(sockets[i]!) ? 1 : 0));

      // fetchSockets (list) and serverSideEmit (poll), from either side
      for (const asker of [sockets[0]!, sockets[15]!]) {
        const all = (await asker.timeout(10_000).emitWithAck("list", null)) as { ids: string[] };
        expect(all.ids.sort()).toEqual(sockets.map((s) => s.id!).sort());
        const blue = (await asker.timeout(10_000).emitWithAck("list", "blue")) as { ids: string[] };
        expect(blue.ids.sort()).toEqual(members.map((s) => s.id!).sort());
        const poll = (await asker.timeout(10_000).emitWithAck("poll")) as { instances: string[] };
        expect(poll.instances).toHaveLength(3); // every other worker of both instances
      }
    } finally {
      closeAll(sockets);
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 60_000);

  it("usernames are unique across both instances, and the online count is their sum", async () => {
    const [a, b] = await Promise.all([start("chat"), start("chat")]);
    const clients: ChatClient[] = [];
    try {
      for (let i = 0; i < 6; i++) clients.push(await chatClient(i % 2 === 0 ? a.url : b.url));
      const onA = clients.filter((_, i) => i % 2 === 0);
      const onB = clients.filter((_, i) => i % 2 === 1);
      // the same name claimed at once on A and on B (different case too): exactly one wins, each round
      for (let round = 0; round < 3; round++) {
        const contenders = [onA[round]!, onB[round]!];
        const answers = (await Promise.all(
          contenders.map((c, i) => c.socket.timeout(10_000).emitWithAck("setUsername", i === 0 ? `Ann${round}` : `ann${round}`)),
        )) as Array<{ ok: boolean }>;
        expect(answers.filter((x) => x.ok)).toHaveLength(1);
        // (with connection state recovery, a socket's own events go through the adapter: they may follow the ack)
        const events = () => contenders.flatMap((c) => [...c.all("userSet"), ...c.all("userExists")]);
        await eventually(() => events().length >= 2, 5000, "userSet and userExists");
        await new Promise((r) => setTimeout(r, 200));
        expect(contenders.flatMap((c) => c.all("userSet"))).toHaveLength(1);
        expect(contenders.flatMap((c) => c.all("userExists"))).toHaveLength(1);
      }
      for (const asker of [onA[0]!, onB[2]!]) {
        const online = (await asker.socket.timeout(10_000).emitWithAck("whoIsOnline")) as { ok: boolean; users: string[]; clients: number };
        expect(online.clients).toBe(6);
        expect(online.users).toHaveLength(3);
      }
      // a freed name can be taken on the other instance
      const winner = clients.find((c) => c.all("userSet").length === 1 && c.all<[{ username: string }]>("userSet")[0]![0].username.endsWith("0"))!;
      const name = winner.all<[{ username: string }]>("userSet")[0]![0].username;
      const other = (onA.includes(winner) ? onB : onA)[2]!;
      winner.socket.close();
      await eventually(() => other.all<[{ description: string }]>("broadcast").some(([d]) => d.description === "5 clients connected!"), 10_000, "count 5");
      // the name is released by its own disconnect handler, independently of the count
      await eventually(() => !other.all<[string[]]>("users").at(-1)![0].includes(name), 10_000, "the name released");
      const retry = (await other.socket.timeout(10_000).emitWithAck("setUsername", name)) as { ok: boolean };
      expect(retry.ok).toBe(true);
    } finally {
      closeAll(clients.map((c) => c.socket));
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 60_000);

  it("a client moved from one instance to the other (nginx from docs/nginx.conf) recovers its id, rooms and missed broadcasts", async () => {
    const [a, b] = await Promise.all([start("echo"), start("echo")]);
    const nginx = await startNginx([a.port, b.port]);
    const sockets: Socket[] = [];
    try {
      // a default client (polling, then WebSocket) through nginx; it reconnects after 1.5 s
      const client = await connect(`http://127.0.0.1:${nginx.port}`, {
        reconnection: true,
        reconnectionDelay: 1500,
        reconnectionDelayMax: 1500,
        randomizationFactor: 0,
      });
      sockets.push(client);
      const id = client.id;
      await client.timeout(5000).emitWithAck("join", "green");
      const numbers: number[] = [];
      client.on("broadcast", (p: { n?: number }) => typeof p?.n === "number" && numbers.push(p.n));
      // which instance serves it: the one with a session
      const sessions = async (s: RunningServer) => (await s.stats()).workers.reduce((n, w) => n + w.sessions, 0);
      const [first, second] = (await sessions(a)) > 0 ? [a, b] : [b, a];
      expect(await sessions(second)).toBe(0);
      const sender = await connect(second.url, WS_ONLY);
      sockets.push(sender);
      const shout = (n: number, to: unknown = "all") => sender.timeout(5000).emitWithAck("shout", { to, payload: { n } });
      await shout(1);
      await eventually(() => numbers.includes(1), 5000, "the first broadcast");

      // the first instance stops (SIGTERM: drains); while the client is away, the second broadcasts
      const reasons: string[] = [];
      const sent = new Promise<void>((resolve) => {
        client.once("disconnect", (reason) => {
          reasons.push(reason);
          void (async () => {
            for (let n = 2; n <= 6; n++) await shout(n);
            await shout(100, { room: "green" });
            resolve();
          })();
        });
      });
      expect(await first.stop()).toBe(0);
      await sent;
      expect(reasons).toEqual(["transport close"]);
      await eventually(() => client.connected, 15_000, "the reconnection");
      expect(client.recovered).toBe(true);
      expect(client.id).toBe(id);
      expect(await sessions(second)).toBeGreaterThan(0);
      await shout(7);
      await shout(101, { room: "green" }); // still in its room
      await eventually(() => numbers.includes(7) && numbers.includes(101), 5000, "broadcasts after recovery");
      await new Promise((r) => setTimeout(r, 300));
      expect(numbers).toEqual([1, 2, 3, 4, 5, 6, 100, 7, 101]);
    } finally {
      closeAll(sockets);
      await nginx.stop();
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 60_000);

  it("a worker killed with SIGKILL: its clients' count and usernames are withdrawn on both instances (lease expiry)", async () => {
    const [a, b] = await Promise.all([start("chat"), start("chat")]);
    const clients: ChatClient[] = [];
    try {
      for (let i = 0; i < 3; i++) clients.push(await chatClient(a.url));
      const watcher = await chatClient(b.url);
      clients.push(watcher);
      const victim = clients[0]!;
      expect(((await victim.socket.timeout(5000).emitWithAck("setUsername", "Zoe")) as { ok: boolean }).ok).toBe(true);
      const onVictimWorker = clients.filter((c) => c !== watcher && c.instance === victim.instance).length;
      const workerId = Number(victim.instance.replace("worker-", ""));
      const pid = a.logs.find((r) => r.event === "worker-start" && r.worker === workerId)!.pid as number;
      process.kill(pid, "SIGKILL");
      const expected = `${4 - onVictimWorker} clients connected!`;
      await eventually(
        () => watcher.all<[{ description: string }]>("broadcast").some(([d]) => d.description === expected),
        20_000,
        expected,
      );
      const users = (await watcher.socket.timeout(5000).emitWithAck("whoIsOnline")) as { users: string[]; clients: number };
      expect(users).toMatchObject({ users: [], clients: 4 - onVictimWorker });
      expect(((await watcher.socket.timeout(5000).emitWithAck("setUsername", "zoe")) as { ok: boolean }).ok).toBe(true);
    } finally {
      closeAll(clients.map((c) => c.socket));
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 60_000);

  it("an unreachable Redis stops the instance at start with one line, exit 1, no restart loop", async () => {
    const port = await freePort();
    const server = await startServer({ workers: 2, app: "echo", waitReady: false, env: { ADAPTER: "redis", REDIS_URL: `redis://127.0.0.1:${port}` } });
    running.push(server);
    const code = await new Promise<number | null>((resolve) => {
      if (server.child.exitCode !== null) resolve(server.child.exitCode);
      else server.child.once("exit", (c) => resolve(c));
    });
    expect(code).toBe(1);
    const fatal = server.logs.filter((r) => r.level === 60);
    expect(fatal.length).toBeGreaterThan(0);
    expect(fatal.every((r) => String(r.msg).includes(`cannot connect to Redis at 127.0.0.1:${port}`))).toBe(true);
    expect(server.logs.filter((r) => r.event === "worker-restart")).toHaveLength(0);
    expect(server.stderr.join("")).not.toMatch(/\n\s+at /); // no stack trace
  }, 30_000);

  it("ADAPTER and REDIS_URL are validated like every variable", async () => {
    for (const [env, line] of [
      [{ ADAPTER: "kafka" }, 'invalid configuration: ADAPTER="kafka" (allowed: cluster or redis)'],
      [{ ADAPTER: "redis", REDIS_URL: "http://x" }, "invalid configuration: REDIS_URL=(hidden) (allowed: a redis:// or rediss:// URL)"],
    ] as const) {
      const server = await startServer({ workers: 1, waitReady: false, env });
      running.push(server);
      const code = await new Promise<number | null>((resolve) => {
        if (server.child.exitCode !== null) resolve(server.child.exitCode);
        else server.child.once("exit", (c) => resolve(c));
      });
      expect(code).toBe(1);
      expect(server.stderr.join("") + JSON.stringify(server.logs)).toContain(line);
    }
  }, 30_000);
});
