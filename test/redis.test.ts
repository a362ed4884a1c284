import { createClient } from "redis";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatClient, type ChatClient } from "./helpers/chat";
import { byInstance, closeAll, connect, connectMany, eventually, record, upgraded, WS_ONLY } from "./helpers/clients";
import { startHaproxy } from "./helpers/haproxy";
import { startNginx, startRedisServer, type ChildService } from "./helpers/redis";
import { startNumberedStream, type NumberedStream } from "./helpers/numbered-stream";
import { isAlive as alive } from "./helpers/process";
import { freePort, startServer, type RunningServer } from "./helpers/server";


/**
 * ADAPTER=redis: two instances of the product (2 workers each, different ports) on one real
 * redis-server, as two machines would be.
 */
/** Once `client` is cut off: broadcasts 2 to 6 to all, then 100 to the room "green"; resolves when sent. */
function whileAway(client: Socket, shout: (n: number, to?: unknown) => Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    client.once("disconnect", () => {
      void (async () => {
        for (let n = 2; n <= 6; n++) await shout(n);
        await shout(100, { room: "green" });
        resolve();
      })();
    });
  });
}

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
        await sender.timeout(30_000).emitWithAck("shout", { to: "all", payload: { n: i } });
      }
      await sockets[8]!.timeout(30_000).emitWithAck("shout", { to: "others", payload: { n: 2 } });
      await eventually(() => seen.every((s, i) => s.length === (i === 8 ? 2 : 3)), 30_000, "every broadcast");
      await new Promise((r) => setTimeout(r, 300)); // no duplicate arrives late
      // exactly once each. Not in one order across instances: a broadcast reaches the clients of its
      // own instance at once, and the other instance's when its stream reader gets there, so a
      // local broadcast can overtake an earlier remote one (the order of one sender's broadcasts is
      // kept: the numbered stream below)
      seen.forEach((s, i) => expect(s.map(([p]) => p.n).sort(), `client ${i}`).toEqual(i === 8 ? [0, 1] : [0, 1, 2]));

      // rooms: members on both instances
      const members = [sockets[1]!, sockets[5]!, sockets[9]!, sockets[13]!];
      await Promise.all(members.map((s) => s.timeout(30_000).emitWithAck("join", "blue")));
      await sockets[2]!.timeout(30_000).emitWithAck("shout", { to: { room: "blue" }, payload: { n: 3 } });
      await eventually(() => members.every((s) => seen[sockets.indexOf(s)]!.some(([p]) => p.n === 3)), 30_000, "room broadcast");
      await new Promise((r) => setTimeout(r, 300));
      seen.forEach((s, i) => expect(s.filter(([p]) => p.n === 3).length).toBe(members.includes(sockets[i]!) ? 1 : 0));

      // fetchSockets (list) and serverSideEmit (poll), from either side
      for (const asker of [sockets[0]!, sockets[15]!]) {
        const all = (await asker.timeout(30_000).emitWithAck("list", null)) as { ids: string[] };
        expect(all.ids.sort()).toEqual(sockets.map((s) => s.id!).sort());
        const blue = (await asker.timeout(30_000).emitWithAck("list", "blue")) as { ids: string[] };
        expect(blue.ids.sort()).toEqual(members.map((s) => s.id!).sort());
        const poll = (await asker.timeout(30_000).emitWithAck("poll")) as { instances: string[] };
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
          contenders.map((c, i) => c.socket.timeout(30_000).emitWithAck("setUsername", i === 0 ? `Ann${round}` : `ann${round}`)),
        )) as Array<{ ok: boolean }>;
        expect(answers.filter((x) => x.ok)).toHaveLength(1);
        // (with connection state recovery, a socket's own events go through the adapter: they may follow the ack)
        const events = () => contenders.flatMap((c) => [...c.all("userSet"), ...c.all("userExists")]);
        await eventually(() => events().length >= 2, 30_000, "userSet and userExists");
        await new Promise((r) => setTimeout(r, 200));
        expect(contenders.flatMap((c) => c.all("userSet"))).toHaveLength(1);
        expect(contenders.flatMap((c) => c.all("userExists"))).toHaveLength(1);
      }
      for (const asker of [onA[0]!, onB[2]!]) {
        const online = (await asker.socket.timeout(30_000).emitWithAck("whoIsOnline")) as { ok: boolean; users: string[]; clients: number };
        expect(online.clients).toBe(6);
        expect(online.users).toHaveLength(3);
      }
      // a freed name can be taken on the other instance
      const winner = clients.find((c) => c.all("userSet").length === 1 && c.all<[{ username: string }]>("userSet")[0]![0].username.endsWith("0"))!;
      const name = winner.all<[{ username: string }]>("userSet")[0]![0].username;
      const other = (onA.includes(winner) ? onB : onA)[2]!;
      winner.socket.close();
      await eventually(() => other.all<[{ description: string }]>("broadcast").some(([d]) => d.description === "5 clients connected!"), 30_000, "count 5");
      // the name is released by its own disconnect handler, independently of the count
      await eventually(() => !other.all<[string[]]>("users").at(-1)![0].includes(name), 30_000, "the name released");
      const retry = (await other.socket.timeout(30_000).emitWithAck("setUsername", name)) as { ok: boolean };
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
      await client.timeout(30_000).emitWithAck("join", "green");
      const numbers: number[] = [];
      client.on("broadcast", (p: { n?: number }) => typeof p?.n === "number" && numbers.push(p.n));
      // which instance serves it: the one with a session
      const sessions = async (s: RunningServer) => (await s.stats()).workers.reduce((n, w) => n + w.sessions, 0);
      const [first, second] = (await sessions(a)) > 0 ? [a, b] : [b, a];
      expect(await sessions(second)).toBe(0);
      const sender = await connect(second.url, WS_ONLY);
      sockets.push(sender);
      const shout = (n: number, to: unknown = "all") => sender.timeout(30_000).emitWithAck("shout", { to, payload: { n } });
      await shout(1);
      await eventually(() => numbers.includes(1), 30_000, "the first broadcast");

      // the first instance stops (SIGTERM: drains); while the client is away, the second broadcasts
      const reasons: string[] = [];
      client.once("disconnect", (reason) => reasons.push(reason));
      const sent = whileAway(client, shout);
      expect(await first.stop()).toBe(0);
      await sent;
      expect(reasons).toEqual(["transport close"]);
      await eventually(() => client.connected, 30_000, "the reconnection");
      expect(client.recovered).toBe(true);
      expect(client.id).toBe(id);
      expect(await sessions(second)).toBeGreaterThan(0);
      await shout(7);
      await shout(101, { room: "green" }); // still in its room
      await eventually(() => numbers.includes(7) && numbers.includes(101), 30_000, "broadcasts after recovery");
      await new Promise((r) => setTimeout(r, 300));
      expect(numbers).toEqual([1, 2, 3, 4, 5, 6, 100, 7, 101]);
    } finally {
      closeAll(sockets);
      await nginx.stop();
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 60_000);

  it("HAProxy (docs/haproxy.cfg): cookie affinity for default clients over both instances; the clients of a stopped instance recover on the other", async () => {
    const [a, b] = await Promise.all([start("echo"), start("echo")]);
    const haproxy = await startHaproxy([a.port, b.port]);
    const sockets: Socket[] = [];
    try {
      // default clients (polling, then WebSocket) through HAProxy; they keep its cookie (withCredentials)
      const url = `http://127.0.0.1:${haproxy.port}`;
      const options = { withCredentials: true, reconnection: true, reconnectionDelay: 300, reconnectionDelayMax: 1000, randomizationFactor: 0 };
      const clients = await connectMany(url, 6, options);
      sockets.push(...clients);
      await Promise.all(clients.map((c) => upgraded(c)));
      const machineOf = (c: Socket) =>
        (c.io.engine as unknown as { _cookieJar?: { _cookies: Map<string, { value: string }> } })._cookieJar?._cookies.get("SERVERID")?.value;
      const onM1 = clients.filter((c) => machineOf(c) === "m1");
      const onM2 = clients.filter((c) => machineOf(c) === "m2");
      expect(onM1.length + onM2.length).toBe(6);
      expect(onM1.length).toBeGreaterThan(0); // round robin over the handshakes
      expect(onM2.length).toBeGreaterThan(0);
      // every session is where its cookie says: each polling request of a session reached its machine
      const sessions = async (s: RunningServer) => (await s.stats()).workers.reduce((n, w) => n + w.sessions, 0);
      expect([await sessions(a), await sessions(b)]).toEqual([onM1.length, onM2.length]);
      for (const c of clients) expect(((await c.timeout(30_000).emitWithAck("whoami")) as { transport: string }).transport).toBe("websocket");

      // the instance of client 0 stops (SIGTERM: drains); the other broadcasts while its clients are away
      const mover = clients[0]!;
      const [first, second, moving] = machineOf(mover) === "m1" ? [a, b, onM1] : [b, a, onM2];
      const ids = new Map(moving.map((c) => [c, c.id]));
      const recovered = new Set<Socket>();
      for (const c of moving) c.on("connect", () => c.recovered && recovered.add(c));
      await mover.timeout(30_000).emitWithAck("join", "green");
      const numbers: number[] = [];
      mover.on("broadcast", (p: { n?: number }) => typeof p?.n === "number" && numbers.push(p.n));
      const sender = await connect(second.url, WS_ONLY);
      sockets.push(sender);
      const shout = (n: number, to: unknown = "all") => sender.timeout(30_000).emitWithAck("shout", { to, payload: { n } });
      await shout(1);
      await eventually(() => numbers.includes(1), 30_000, "the first broadcast");
      const sent = whileAway(mover, shout);
      expect(await first.stop()).toBe(0);
      await sent;
      await eventually(() => moving.every((c) => c.connected && recovered.has(c)), 20_000, "the moved clients to recover");
      for (const c of moving) expect(c.id).toBe(ids.get(c));
      expect(await sessions(second)).toBe(7); // the six clients and the sender
      await shout(7);
      await shout(101, { room: "green" }); // still in its room
      await eventually(() => numbers.includes(7) && numbers.includes(101), 30_000, "broadcasts after recovery");
      await new Promise((r) => setTimeout(r, 300));
      expect(numbers).toEqual([1, 2, 3, 4, 5, 6, 100, 7, 101]);

      // a browser that still sends the stopped machine's cookie is served by the other one (once the
      // health checks marked it down; before, the request is retried and redispatched, or rarely 503)
      const [dead, live] = first === a ? ["m1", "m2"] : ["m2", "m1"];
      expect(machineOf(mover)).toBe(live);
      await eventually(() => haproxy.output.join("").includes(`Server machines/${dead} is DOWN`), 30_000, "HAProxy to mark the machine down");
      const handshake = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers: { cookie: `SERVERID=${dead}` } });
      expect(handshake.status, `${handshake.status} ${JSON.stringify([...handshake.headers])} ${await handshake.clone().text()} ${haproxy.output.join("")}`).toBe(200);
      expect(handshake.headers.get("set-cookie") ?? "").toContain(`SERVERID=${live}`);
      await handshake.text();
    } finally {
      closeAll(sockets);
      await haproxy.stop();
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 60_000);

  it("a numbered broadcast stream reaches every client exactly once, in order, same id and rooms, through a worker's SIGKILL and a SIGKILL of the whole instance", async () => {
    const env = { ADAPTER: "redis", REDIS_URL: redis.url };
    let a = await start("echo");
    const b = await start("echo");
    const reconnecting = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500 };
    // receivers: 8 on A (the instance that dies), half default clients (polling → WebSocket), half WebSocket only; 2 on B
    const onA = [...(await connectMany(a.url, 4, reconnecting)), ...(await connectMany(a.url, 4, { ...WS_ONLY, ...reconnecting }))];
    const onB = await connectMany(b.url, 2, reconnecting);
    const sender = await connect(b.url, { ...WS_ONLY, ...reconnecting });
    const receivers = [...onA, ...onB].map((socket) => ({ socket, id: socket.id!, numbers: [] as number[], roomNumbers: [] as number[], recoveries: 0, fresh: 0 }));
    let stream: NumberedStream | undefined;
    try {
      for (const r of receivers) {
        r.socket.on("broadcast", (payload: { n?: number; room?: number }) => {
          if (typeof payload?.n === "number") r.numbers.push(payload.n);
          if (typeof payload?.room === "number") r.roomNumbers.push(payload.room);
        });
        r.socket.on("connect", () => (r.socket.recovered ? r.recoveries++ : r.fresh++));
      }
      const inRoom = receivers.filter((_, i) => i % 2 === 0);
      await Promise.all(inRoom.map((r) => r.socket.timeout(30_000).emitWithAck("join", "odd-room")));
      const groups = await byInstance(onA);

      // the stream, from B: a numbered broadcast every 2 ms or so (every 5th also to the room), acked
      stream = startNumberedStream(sender, "odd-room", 2);
      const { acked, roomAcked } = stream;
      const advance = async (what: string) => {
        const from = acked.length;
        await eventually(() => acked.length >= from + 20, 10_000, what);
      };
      const allConnected = (what: string) => eventually(() => receivers.every((r) => r.socket.connected), 20_000, what);
      await advance("the stream to start");

      // (a) SIGKILL one of A's workers
      const [victim, victims] = [...groups.entries()][0]!;
      const victimPid = a.logs.find((r) => r.event === "worker-start" && `worker-${r.worker}` === victim)!.pid as number;
      process.kill(victimPid, "SIGKILL");
      await a.waitForLog((r) => r.event === "worker-start" && (r.worker as number) > 2);
      await eventually(() => victims.every((s) => receivers.find((r) => r.socket === s)!.recoveries >= 1), 20_000, "the killed worker's clients to recover");
      await allConnected("reconnections after the worker's kill");
      await advance("the stream to go on after the worker's kill");
      const afterWorkerKill = receivers.map((r) => r.recoveries);

      // (b) SIGKILL A's primary and its workers at once (a machine crash), then start A again on the same port
      const pids = a.workerPids();
      a.child.kill("SIGKILL");
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* already gone */
        }
      }
      await eventually(() => a.child.signalCode !== null && pids.every((pid) => !alive(pid)), 30_000, "instance A to be gone");
      await advance("the stream to go on while A is down (B keeps broadcasting)");
      a = await startServer({ workers: 2, app: "echo", port: a.port, env });
      running.push(a);
      await allConnected("reconnections to the restarted instance");
      await advance("the stream to go on after the restart");

      await stream.stop();
      const last = acked[acked.length - 1]!;
      await eventually(() => receivers.every((r) => r.numbers.includes(last)), 30_000, "the last number everywhere");
      const lastRoom = roomAcked[roomAcked.length - 1]!;
      await eventually(() => inRoom.every((r) => r.roomNumbers.includes(lastRoom)), 30_000, "the last room number");
      await new Promise((r) => setTimeout(r, 300)); // a late duplicate would show

      for (const r of receivers) {
        expect(r.numbers, `receiver ${r.id}: in order, once`).toEqual([...new Set(r.numbers)].sort((x, y) => x - y));
        expect(acked.filter((n) => !r.numbers.includes(n)), `receiver ${r.id} missed`).toEqual([]);
        expect(r.socket.id).toBe(r.id);
        expect(r.fresh, `receiver ${r.id} started a new session`).toBe(0); // (counted after the first connection)
        if (inRoom.includes(r)) {
          expect(r.roomNumbers).toEqual([...new Set(r.roomNumbers)].sort((x, y) => x - y));
          expect(roomAcked.filter((n) => !r.roomNumbers.includes(n))).toEqual([]);
        } else {
          expect(r.roomNumbers).toEqual([]);
        }
      }
      // A's clients recovered after the worker's kill (the victim's) and after the instance's crash (all)
      const onARecords = receivers.slice(0, onA.length);
      onARecords.forEach((r, i) => expect(r.recoveries, `receiver ${r.id}`).toBeGreaterThan(afterWorkerKill[i]!));
      receivers.slice(onA.length).forEach((r) => expect(r.recoveries).toBe(0));
      const recovered = receivers.reduce((n, r) => n + r.recoveries, 0);
      console.log(
        `redis recovery stream: ${acked.length} numbers acked (${roomAcked.length} room), ${receivers.reduce((n, r) => n + r.numbers.length, 0)} delivered to ${receivers.length} clients, ${recovered} recovered sessions (${victims.length} after the worker's kill, ${onA.length} after the instance's crash)`,
      );
    } finally {
      await stream?.stop();
      closeAll([...receivers.map((r) => r.socket), sender]);
      await Promise.all([a.stop(), b.stop()]);
    }
  }, 120_000);

  it("a session is restored at most once, never while it is connected, and not after a deliberate disconnection", async () => {
    const [a, b] = await Promise.all([start("echo"), start("echo")]);
    const sockets: Socket[] = [];
    const session = (s: Socket) => ({ pid: (s as unknown as { _pid: string })._pid, offset: (s as unknown as { _lastOffset: string })._lastOffset });
    try {
      const owner = await connect(a.url, WS_ONLY);
      const leaver = await connect(a.url, WS_ONLY);
      const sender = await connect(b.url, WS_ONLY);
      sockets.push(owner, leaver, sender);
      await owner.timeout(30_000).emitWithAck("join", "kept");
      const got = record(owner, "broadcast");
      await sender.timeout(30_000).emitWithAck("shout", { to: "all", payload: { n: 1 } });
      await eventually(() => got.length === 1 && session(owner).offset !== undefined && session(leaver).offset !== undefined, 30_000, "an offset");
      const stolen = session(owner);
      const ownerId = owner.id!;
      expect(stolen.pid).toMatch(/\S/);
      // (a client given a pid by hand does not flag itself `recovered`: the id tells)

      // while its owner is connected, nobody else gets the session (on either instance)
      for (const url of [a.url, b.url]) {
        const thief = await connect(url, { ...WS_ONLY, auth: stolen });
        sockets.push(thief);
        expect(thief.id).not.toBe(ownerId);
      }

      // a deliberate disconnection (client side) leaves nothing to restore
      const left = session(leaver);
      const leaverId = leaver.id;
      leaver.disconnect();
      await new Promise((r) => setTimeout(r, 300));
      const late = await connect(b.url, { ...WS_ONLY, auth: left });
      sockets.push(late);
      expect(late.id).not.toBe(leaverId);
      // (the records themselves: the owner's is there while it is connected, the leaver's is gone)
      const keys = createClient({ url: redis.url });
      await keys.connect();
      try {
        expect(await keys.exists(`sio-rt:session:${stolen.pid}`)).toBe(1);
        expect(await keys.exists(`sio-rt:session:${left.pid}`)).toBe(0);
      } finally {
        await keys.quit();
      }

      // its worker killed: five clients race for it on both instances; exactly one gets it, with its rooms
      const { instance } = (await owner.timeout(30_000).emitWithAck("whoami")) as { instance: string };
      const pid = a.logs.find((r) => r.event === "worker-start" && `worker-${r.worker}` === instance)!.pid as number;
      const gone = new Promise((resolve) => owner.once("disconnect", resolve));
      process.kill(pid, "SIGKILL");
      await gone;
      // (racing once the instance has its replacement worker: a connection to a dying worker fails)
      await a.waitForLog((r) => r.event === "listen" && r.role === "worker" && (r.worker as number) > 2);
      const racers = await Promise.all([a.url, b.url, a.url, b.url, a.url].map((url) => connect(url, { ...WS_ONLY, auth: stolen })));
      sockets.push(...racers);
      expect(racers.filter((r) => r.id === ownerId)).toHaveLength(1);
      const list = (await sender.timeout(30_000).emitWithAck("list", "kept")) as { ids: string[] };
      expect(list.ids).toEqual([ownerId]);
    } finally {
      closeAll(sockets);
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
      expect(((await victim.socket.timeout(30_000).emitWithAck("setUsername", "Zoe")) as { ok: boolean }).ok).toBe(true);
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
      const users = (await watcher.socket.timeout(30_000).emitWithAck("whoIsOnline")) as { users: string[]; clients: number };
      expect(users).toMatchObject({ users: [], clients: 4 - onVictimWorker });
      expect(((await watcher.socket.timeout(30_000).emitWithAck("setUsername", "zoe")) as { ok: boolean }).ok).toBe(true);
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
