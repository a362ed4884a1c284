import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "socket.io-client";
import WebSocket from "ws";
import { closeAll, connect, WS_ONLY } from "./helpers/clients";
import { startServer, type RunningServer } from "./helpers/server";
import { ENGINES } from "./helpers/engines";

const APP = path.join(__dirname, "fixtures", "limits-app.js");

interface Refusal {
  ok: false;
  error: string;
}

function nextEvent<T = unknown>(socket: Socket, event: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event`)), timeoutMs);
    socket.once(event, (value: T) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

/**
 * How many of `socket`'s events reached the application (asked on the socket itself, whose
 * worker holds the count: asked again while the question is refused by the rate limit).
 */
async function received(socket: Socket): Promise<number> {
  for (;;) {
    const answer = (await socket.timeout(30_000).emitWithAck("received")) as number | Refusal;
    if (typeof answer === "number") return answer;
    expect(answer.error).toBe("rate limit exceeded");
    await new Promise((resolve) => setTimeout(resolve, 150)); // one token comes back every 100 ms
  }
}


describe.each(ENGINES)("per-socket limits and handler faults (%s)", (engine) => {
  let server: RunningServer;
  const clients: Socket[] = [];
  const client = async () => {
    const socket = await connect(server.url, WS_ONLY);
    clients.push(socket);
    return socket;
  };

  beforeAll(async () => {
    server = await startServer({
      engine,
      workers: 2,
      env: { APP_MODULE: APP, EVENT_RATE: "10", EVENT_BURST: "10", MAX_EVENT_SIZE: "10000", MAX_ROOMS_PER_SOCKET: "5" },
    });
  });
  afterAll(async () => {
    closeAll(clients);
    await server.stop();
  });

  it("answers events over the rate with an error ack; the application never sees them", async () => {
    const socket = await client();
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => socket.timeout(30_000).emitWithAck("echo", i) as Promise<{ ok: boolean; error?: string }>),
    );
    expect(answers.filter((a) => a.ok)).toHaveLength(10);
    expect(answers.filter((a) => !a.ok).map((a) => a.error)).toEqual(Array(10).fill("rate limit exceeded"));
    expect(await received(socket)).toBe(10);
  });

  it("sends one error notice for events without ack over the rate", async () => {
    const socket = await client();
    const notices: unknown[] = [];
    socket.on("error" as never, (notice: unknown) => void notices.push(notice));
    const first = nextEvent(socket, "error");
    for (let i = 0; i < 20; i++) socket.emit("tick");
    expect(await first).toEqual({ error: "rate limit exceeded", event: "tick" });
    expect(await received(socket)).toBe(10);
    expect(notices).toHaveLength(1); // throttled: at most one a second
  });

  it("disconnects a client that keeps flooding", async () => {
    const socket = await client();
    const reason = nextEvent<string>(socket, "disconnect");
    for (let i = 0; i < 200; i++) socket.emit("tick");
    expect(await reason).toBe("io server disconnect");
    const log = await server.waitForLog((r) => r.event === "event-flood");
    expect(log.dropped).toBe(100); // 10 × EVENT_BURST
  });

  it("refuses events over MAX_EVENT_SIZE, JSON or binary, without passing them on", async () => {
    const socket = await client();
    const big = (await socket.timeout(30_000).emitWithAck("echo", "x".repeat(20_000))) as Refusal;
    expect(big).toEqual({ ok: false, error: "event too large" });
    const bin = (await socket.timeout(30_000).emitWithAck("echo", Buffer.alloc(6000), Buffer.alloc(6000))) as Refusal;
    expect(bin).toEqual({ ok: false, error: "event too large" });
    const small = (await socket.timeout(30_000).emitWithAck("echo", Buffer.alloc(4000), "y".repeat(4000))) as { ok: boolean };
    expect(small.ok).toBe(true);
    expect(await received(socket)).toBe(1);
    // without ack: the error notice
    const notice = nextEvent(socket, "error");
    socket.emit("tick", "z".repeat(20_000));
    expect(await notice).toEqual({ error: "event too large", event: "tick" });
  });

  it("closes a connection whose binary event passes MAX_EVENT_SIZE before its last attachment", async () => {
    const socket = await client();
    const reason = nextEvent<string>(socket, "disconnect");
    socket.emit("echo", Buffer.alloc(6000), Buffer.alloc(6000), Buffer.alloc(10));
    expect(["transport close", "transport error", "io server disconnect"]).toContain(await reason);
  });

  it("limits rooms per socket: join throws RoomLimitError, the ack gets the reason", async () => {
    const socket = await client();
    expect(await socket.timeout(30_000).emitWithAck("join", ["a", "b", "c", "d"])).toEqual({ ok: true, rooms: 5 });
    expect(await socket.timeout(30_000).emitWithAck("join", ["e"])).toEqual({ ok: false, error: "room limit exceeded" });
    expect(await socket.timeout(30_000).emitWithAck("joinCaught", ["e", "f"])).toEqual({
      ok: false,
      code: "ROOM_LIMIT",
      message: "room limit exceeded",
    });
    // already-joined rooms do not count twice
    expect(await socket.timeout(30_000).emitWithAck("join", ["a", "d"])).toEqual({ ok: true, rooms: 5 });
    // a server-side socketsJoin skips the sockets at their limit, never throws
    expect(await socket.timeout(30_000).emitWithAck("socketsJoin", ["g"])).toEqual({ ok: true, rooms: 5 });
    await server.waitForLog((r) => r.event === "room-limit");
  });

  it("contains handler faults: thrown and rejected, with and without ack", async () => {
    const socket = await client();
    const bystander = await client();
    const pids = server.workerPids();
    expect(await socket.timeout(30_000).emitWithAck("boom")).toEqual({ ok: false, error: "internal error" });
    expect(await socket.timeout(30_000).emitWithAck("reject")).toEqual({ ok: false, error: "internal error" });
    socket.emit("boom");
    socket.emit("reject");
    socket.emit("error" as never, "an event named error, nobody listens");
    socket.emit("refused"); // a middleware's next(err)
    // the second of each: logged at level error, with the event name and the error
    for (const name of ["boom", "reject"]) {
      let seen = 0;
      const record = await server.waitForLog((r) => r.event === "handler-error" && r.socketEvent === name && ++seen === 2);
      expect(record.level).toBe(50);
      expect((record.err as { message: string }).message).toMatch(/boom|rejected/);
    }
    // the same socket and the others go on
    expect(await socket.timeout(30_000).emitWithAck("echo", 1)).toMatchObject({ ok: true });
    expect(await bystander.timeout(30_000).emitWithAck("echo", 2)).toMatchObject({ ok: true });
    expect(socket.connected && bystander.connected).toBe(true);
    expect(server.workerPids()).toEqual(pids);
    expect(server.logs.filter((r) => r.event === "worker-exit")).toEqual([]);
    const stats = await server.stats();
    const limits = stats.workers.map((w) => w.limits!);
    const sum = (key: keyof (typeof limits)[number]) => limits.reduce((n, l) => n + l[key], 0);
    expect(sum("handlerErrors")).toBeGreaterThanOrEqual(4);
    expect(sum("eventsRateLimited")).toBeGreaterThan(0);
    expect(sum("eventsTooLarge")).toBeGreaterThan(0);
    expect(sum("roomJoinsRefused")).toBeGreaterThan(0);
    expect(sum("floodDisconnects")).toBeGreaterThan(0);
  });

  it("contains faults of namespace middlewares (connect_error) and connection listeners (the others still run)", async () => {
    const pids = server.workerPids();
    for (const fail of ["middleware-throw", "middleware-reject"]) {
      const refused = connect(`${server.url}/faulty`, { ...WS_ONLY, auth: { fail } });
      await expect(refused).rejects.toThrow("internal error");
    }
    for (const fail of ["connection-throw", "connection-reject"]) {
      const socket = await connect(`${server.url}/faulty`, { ...WS_ONLY, auth: { fail } });
      clients.push(socket);
      expect(await socket.timeout(30_000).emitWithAck("ping")).toBe("pong");
    }
    for (const message of ["middleware threw", "middleware rejected", "connection listener threw", "connection listener rejected"]) {
      const record = await server.waitForLog((r) => r.event === "handler-error" && (r.err as { message?: string })?.message === message);
      expect(record.level).toBe(50);
    }
    expect(server.workerPids()).toEqual(pids);
    expect(server.logs.filter((r) => r.event === "worker-exit")).toEqual([]);
  });
});

/** A raw Engine.IO/Socket.IO WebSocket client (the `ws` package) that can stop reading. */
async function rawSocketIo(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
  await new Promise<void>((resolve, reject) => {
    ws.once("error", reject);
    ws.on("message", (data) => {
      const text = String(data);
      if (text.startsWith("0")) ws.send("40");
      else if (text.startsWith("40")) resolve();
    });
  });
  return ws;
}

/** Each worker's RSS, in MiB. */
async function workerRss(server: RunningServer): Promise<number[]> {
  return (await server.stats()).workers.map((w) => Math.round(w.rss / 1048576));
}

describe.each(ENGINES)("slow consumers (%s)", (engine) => {
  let server: RunningServer;
  const clients: Socket[] = [];
  const COUNT = 400;
  const SIZE = 50_000; // 400 × 50 kB = 20 MB broadcast to everyone

  beforeAll(async () => {
    server = await startServer({ engine, workers: 2, env: { APP_MODULE: APP, MAX_BACKLOG: String(1024 * 1024) } });
  });
  afterAll(async () => {
    closeAll(clients);
    await server.stop();
  });

  /** Blasts of this file are numbered: a client counts the bulks of one blast only. */
  let blasts = 0;

  /** A client that reads everything it is sent and reports each 10th bulk to the blast it asked for. */
  async function healthyClient(): Promise<Socket> {
    const socket = await connect(server.url, WS_ONLY);
    clients.push(socket);
    socket.on("bulk", (i: number, _payload: string, id: number) => {
      if (i % 10 === 9 || i === COUNT - 1) socket.emit("got", i, id);
    });
    return socket;
  }

  /** Asks `requester` for blast `id` of `COUNT` broadcasts; resolves once it was acknowledged. */
  async function askBlast(requester: Socket, id: number): Promise<void> {
    expect(await requester.timeout(30_000).emitWithAck("blast", { count: COUNT, size: SIZE, id })).toEqual({ ok: true });
  }

  /** One blast; resolves once `receiver` got all of it, in order. */
  async function blast(receiver: Socket): Promise<void> {
    const id = ++blasts;
    const all = collect(receiver, id);
    await askBlast(receiver, id);
    expect(await all).toEqual(Array.from({ length: COUNT }, (_, i) => i));
  }

  /** Resolves with the indexes of the bulks of blast `id` that `socket` got, once it has `COUNT` distinct ones. */
  function collect(socket: Socket, id: number, timeoutMs = 60_000): Promise<number[]> {
    const got: number[] = [];
    return new Promise((resolve, reject) => {
      const onBulk = (i: number, _payload: string, blastId: number) => {
        if (blastId !== id) return;
        got.push(i);
        if (new Set(got).size === COUNT) {
          clearTimeout(timer);
          socket.off("bulk", onBulk);
          resolve(got);
        }
      };
      const timer = setTimeout(() => {
        socket.off("bulk", onBulk);
        reject(new Error(`got ${new Set(got).size} of ${COUNT}`));
      }, timeoutMs);
      socket.on("bulk", onBulk);
    });
  }

  it("cuts off WebSockets that never read at a bounded backlog; the others get everything", async () => {
    const healthy = await healthyClient();
    // a first blast without stalled clients: the workers' heaps grow to what a blast needs
    await blast(healthy);
    const before = await workerRss(server);
    const stalled = await Promise.all([0, 1, 2].map(() => rawSocketIo(server.port)));
    for (const ws of stalled) ws.pause(); // stops reading from the TCP socket
    const closed = stalled.map((ws) => new Promise<number>((resolve) => ws.once("close", (code) => resolve(code))));
    // 2 × 20 MB for each of the 3 stalled clients (120 MB): without the bound, the workers keep most of it
    await blast(healthy);
    await blast(healthy);
    let cuts = 0;
    await server.waitForLog((r) => r.event === "slow-consumer" && ++cuts === 3);
    const after = await workerRss(server);
    const records = server.logs.filter((r) => r.event === "slow-consumer");
    expect(records.map((r) => r.transport)).toEqual(["websocket", "websocket", "websocket"]);
    for (const r of records) expect(r.backlog as number).toBeGreaterThan(1024 * 1024);
    for (const ws of stalled) ws.resume();
    await Promise.all(closed);
    const stats = await server.stats();
    expect(stats.workers.reduce((n, w) => n + w.limits!.slowConsumerDisconnects, 0)).toBe(3);
    const growth = after.map((rss, i) => rss - before[i]!);
    console.log(
      `[${engine}] worker RSS MiB before ${before.join(",")} after ${after.join(",")}; cut at ${records.map((r) => r.backlog).join(", ")} bytes`,
    );
    for (const g of growth) expect(g).toBeLessThan(64);
    expect(healthy.connected).toBe(true);
  });

  it("cuts off a polling client that stops polling once its buffered packets pass the bound", async () => {
    const base = `${server.url}/socket.io/?EIO=4&transport=polling`;
    const open = await (await fetch(base)).text();
    const sid = (JSON.parse(open.slice(1)) as { sid: string }).sid;
    await fetch(`${base}&sid=${sid}`, { method: "POST", body: "40" });
    expect(await (await fetch(`${base}&sid=${sid}`)).text()).toMatch(/^40/);
    // no more GET: what is broadcast to it waits in its session
    const healthy = await healthyClient();
    await blast(healthy);
    const record = await server.waitForLog((r) => r.event === "slow-consumer" && r.sid === sid);
    expect(record.transport).toBe("polling");
    expect(record.backlog as number).toBeGreaterThan(1024 * 1024);
    // checked when a turn ends: the bound plus one turn's packets (on the worker that is not the
    // requester's, a batch from the primary may hold several rounds), far below the 20 MB blast
    expect(record.backlog as number).toBeLessThan(4 * 1024 * 1024);
  });

  it("a slow consumer that was cut off reconnects and recovers every broadcast it missed", async () => {
    const slow = await connect(server.url, { ...WS_ONLY, reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
    clients.push(slow);
    const healthy = await healthyClient();
    // recovery resumes from the last broadcast the client got: it needs one
    const hello = nextEvent(slow, "hello");
    await slow.timeout(30_000).emitWithAck("hello");
    await hello;
    const id = ++blasts;
    const everything = collect(slow, id);
    const raw = (slow.io.engine.transport as unknown as { ws: WebSocket }).ws;
    raw.pause();
    const cuts = server.logs.filter((r) => r.event === "slow-consumer").length;
    const all = collect(healthy, id);
    await askBlast(healthy, id);
    await all;
    await server.waitForLog((r) => r.event === "slow-consumer" && r.sid === slow.io.engine.id);
    expect(server.logs.filter((r) => r.event === "slow-consumer").length).toBe(cuts + 1);
    const reconnected = nextEvent(slow, "connect", 30_000);
    raw.resume();
    await reconnected;
    expect(slow.recovered).toBe(true);
    // exactly once, in order, across the cut
    expect(await everything).toEqual(Array.from({ length: COUNT }, (_, i) => i));
  });
});
