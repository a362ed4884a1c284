import { io, type Socket } from "socket.io-client";
import { describe, expect, it } from "vitest";
import { eventually } from "./helpers/clients";
import { startFaultProxy, type FaultProxy, type ProxiedConnection } from "./helpers/fault-proxy";
import { startServer, type RunningServer } from "./helpers/server";

/**
 * Issue 12, network faults: clients behind a fault-injecting TCP proxy (`helpers/fault-proxy.ts`)
 * while a sender that is not behind it broadcasts numbered messages, and every client sends acked
 * messages that a watcher (not behind it either) audits. Whatever the fault, every client ends
 * connected, holds every broadcast exactly once and in order, and every acked message was handled
 * exactly once (an unacked one at most once).
 *
 * `FAULT_DEBUG=runtime:*` prints, for clients that broke a rule, their history and the server's
 * debug lines about their sessions.
 */

type Kind = "default" | "websocket" | "polling";
const KINDS: Record<Kind, { transports?: Array<"websocket" | "polling"> }> = {
  default: {},
  websocket: { transports: ["websocket"] },
  polling: { transports: ["polling"] },
};

interface Receiver {
  index: number;
  kind: Kind;
  socket: Socket;
  numbers: number[];
  recoveries: number;
  freshSessions: number;
  /** Acked messages this client sent: `index:seq`. */
  acked: string[];
  /** Messages whose ack never came (rejected at a disconnection, or timed out). */
  unacked: string[];
  history: string[];
  /**
   * Numbers the client library handed to the socket after its `disconnect` event and before its
   * next connection opened: from the old connection, late (see {@link watchLateDeliveries}).
   */
  late: Set<number>;
}

/**
 * socket.io-client 4.8 hands a decoded packet to its socket on the next tick (`Manager.ondecoded`).
 * When the engine closes in the tick that decoded it (a default client's `engine.close()` waits
 * for an upgrade in progress, which completes as the last poll's packets are decoded), the packet
 * reaches the socket after its `disconnect`: it goes to the socket's receive buffer, emitted at
 * the next CONNECT, but the offset the client sends to recover its session is the one from before
 * it. The server, whatever it does, sends it again with the missed packets: the client sees it
 * twice. This records such packets, so that the test tells that case (the client's) from a
 * duplicate the server sent.
 */
function watchLateDeliveries(r: Receiver): void {
  const socket = r.socket as unknown as { onevent(packet: { data?: unknown[] }): void };
  const onevent = socket.onevent.bind(socket);
  let betweenConnections = false;
  r.socket.on("disconnect", () => (betweenConnections = true));
  r.socket.io.on("open", () => (betweenConnections = false));
  socket.onevent = (packet) => {
    const payload = packet.data?.[1] as { n?: unknown } | undefined;
    if (betweenConnections && packet.data?.[0] === "broadcast" && typeof payload?.n === "number") r.late.add(payload.n);
    onevent(packet);
  };
}

function connectReceiver(url: string, index: number, kind: Kind): Promise<Receiver> {
  const socket = io(url, { forceNew: true, ...KINDS[kind] });
  const r: Receiver = { index, kind, socket, numbers: [], recoveries: 0, freshSessions: 0, acked: [], unacked: [], history: [], late: new Set() };
  watchLateDeliveries(r);
  socket.on("broadcast", (payload: { n?: number }) => {
    if (typeof payload?.n === "number") r.numbers.push(payload.n);
  });
  socket.on("disconnect", (reason) => {
    r.history.push(`disconnect ${reason}`);
    if (process.env.FAULT_DEBUG) r.history.push(`at ${Date.now()} numbers ${r.numbers.length} last ${r.numbers[r.numbers.length - 1]}`);
  });
  socket.on("connect_error", (err) => r.history.push(`connect_error ${err.message}`));
  if (process.env.FAULT_DEBUG) {
    socket.io.on("open", () => r.history.push(`engine open ${socket.io.engine.id} at ${Date.now()}`));
    socket.io.on("reconnect_attempt", (n) => r.history.push(`attempt ${n} at ${Date.now()}`));
    socket.io.on("error", (err) => r.history.push(`engine error ${err.message} at ${Date.now()}`));
  }
  let first = true;
  return new Promise((resolve) => {
    socket.on("connect", () => {
      if (first) {
        first = false;
        r.history.push("connected");
        if (process.env.FAULT_DEBUG) r.history.push(`id ${socket.id} at ${Date.now()}`);
        return resolve(r);
      }
      if (socket.recovered) r.recoveries++;
      else r.freshSessions++;
      r.history.push(socket.recovered ? "recovered" : "fresh session");
      if (process.env.FAULT_DEBUG) r.history.push(`id ${socket.id} at ${Date.now()} numbers ${r.numbers.length}`);
    });
  });
}

/** Each receiver sends `{ audit: "index:seq" }` to the room "audit" every `periodMs`, with an ack. */
function auditedMessages(receivers: Receiver[], periodMs: number) {
  let running = true;
  const loops = receivers.map(async (r) => {
    await new Promise((resolve) => setTimeout(resolve, Math.random() * periodMs));
    for (let seq = 1; running; seq++) {
      const id = `${r.index}:${seq}`;
      try {
        await r.socket.timeout(30_000).emitWithAck("shout", { to: { room: "audit" }, payload: { audit: id } });
        r.acked.push(id);
      } catch {
        r.unacked.push(id);
      }
      await new Promise((resolve) => setTimeout(resolve, periodMs));
    }
  });
  return () => ((running = false), Promise.all(loops));
}

/** Numbers broadcast to all by a sender that is not behind the proxy. */
function numberedStream(sender: Socket, pauseMs: number) {
  const acked: number[] = [];
  let running = true;
  const loop = (async () => {
    for (let n = 1; running; n++) {
      await sender.timeout(30_000).emitWithAck("shout", { to: "all", payload: { n } });
      acked.push(n);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  })();
  return { acked, stop: () => ((running = false), loop) };
}

interface Scenario {
  /** What the proxy does to the connections, until `until` (a Date.now()). */
  faults(proxy: FaultProxy, until: number, receivers: Receiver[]): Promise<string>;
  durationMs: number;
  perKind: number;
  env?: Record<string, string>;
}

/**
 * The numbers a client got out of order or more than once (`disorder`), but for the second copy of
 * a number its library delivered late from the old connection (`repeatedLate`; see
 * {@link watchLateDeliveries}): that copy is sent again with the missed packets, and the client
 * alone can tell.
 */
function orderOf(r: Receiver): { disorder: string[]; repeatedLate: number[] } {
  const disorder: string[] = [];
  const repeatedLate: number[] = [];
  const times = new Map<number, number>();
  let highest = 0;
  r.numbers.forEach((n, i) => {
    const seen = times.get(n) ?? 0;
    times.set(n, seen + 1);
    if (seen === 1 && r.late.has(n)) repeatedLate.push(n);
    else if (seen > 0 || n < highest) disorder.push(`${r.numbers[i - 1]} then ${n} at #${i}`);
    highest = Math.max(highest, n);
  });
  return { disorder, repeatedLate };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(name: string, scenario: Scenario): Promise<void> {
  const server: RunningServer = await startServer({ workers: 4, env: { ...scenario.env, DEBUG: process.env.FAULT_DEBUG ?? "" } });
  const proxy = await startFaultProxy(server.port);
  const receivers: Receiver[] = [];
  const sender = io(server.url, { forceNew: true, transports: ["websocket"] });
  const watcher = io(server.url, { forceNew: true, transports: ["websocket"] });
  const audited = new Map<string, number>();
  watcher.on("broadcast", (payload: { audit?: string }) => {
    if (typeof payload?.audit === "string") audited.set(payload.audit, (audited.get(payload.audit) ?? 0) + 1);
  });
  try {
    await eventually(() => sender.connected && watcher.connected, 30_000, "the sender and the watcher");
    await watcher.timeout(30_000).emitWithAck("join", "audit");
    for (const kind of Object.keys(KINDS) as Kind[]) {
      const start = receivers.length;
      receivers.push(...(await Promise.all(Array.from({ length: scenario.perKind }, (_, i) => connectReceiver(proxy.url, start + i, kind)))));
    }
    const stream = numberedStream(sender, 25);
    const stopAudit = auditedMessages(receivers, 300);
    const what = await scenario.faults(proxy, Date.now() + scenario.durationMs, receivers);
    proxy.setLatency(0);
    proxy.setBandwidth(0);
    await stopAudit();
    await stream.stop();
    const last = stream.acked[stream.acked.length - 1]!;
    const settled = () => receivers.every((r) => r.socket.connected && r.numbers.includes(last));
    await eventually(settled, 90_000, "every client back with the last number").catch(() => undefined);
    const lastAudits = receivers.flatMap((r) => r.acked.slice(-1));
    await eventually(() => lastAudits.every((id) => audited.has(id)), 30_000, "the last acked messages audited").catch(() => undefined);

    const stuck = receivers.filter((r) => !r.socket.connected);
    const acked = receivers.flatMap((r) => r.acked);
    const unacked = receivers.flatMap((r) => r.unacked);
    const reasons = new Map<string, number>();
    for (const h of receivers.flatMap((r) => r.history.filter((e) => e.startsWith("disconnect ")))) reasons.set(h.slice(11), (reasons.get(h.slice(11)) ?? 0) + 1);
    const disconnections = `${[...reasons.values()].reduce((a, b) => a + b, 0)} disconnections (${[...reasons].map(([why, n]) => `${why} ${n}`).join(", ")})`;
    console.log(
      `network faults, ${name}: ${what}; ${proxy.accepted} connections through the proxy, ${disconnections}, ` +
        `${receivers.reduce((s, r) => s + r.recoveries, 0)} recovered, ${receivers.reduce((s, r) => s + r.freshSessions, 0)} fresh sessions; ` +
        `${stream.acked.length} broadcasts × ${receivers.length} clients; ${acked.length} acked messages, ${unacked.length} unacked` +
        (stuck.length > 0 ? `; stuck: ${JSON.stringify(stuck.map((r) => ({ kind: r.kind, history: r.history.slice(-6) })))}` : ""),
    );
    if (process.env.FAULT_DEBUG) {
      const odd = receivers.filter((r) => r.numbers.some((n, i) => i > 0 && n <= r.numbers[i - 1]!));
      const broken = receivers.filter((r) => r.history.filter((h) => h.startsWith("disconnect")).length > r.recoveries + r.freshSessions || odd.includes(r));
      const ids = broken.flatMap((r) => r.history.filter((h) => h.startsWith("id ") || h.startsWith("engine open")).map((h) => h.split(" ")[h.startsWith("id") ? 1 : 2]!));
      console.log(JSON.stringify(broken.map((r) => r.history)));
      console.log(server.stderr.join("").split("\n").filter((l) => ids.some((id) => l.includes(id))).join("\n").slice(-20000));
    }
    expect(stuck.map((r) => `${r.kind} #${r.index}: ${r.history.slice(-6).join(", ")}`)).toEqual([]);
    const clientRepeats: string[] = [];
    for (const r of receivers) {
      const label = `${r.kind} #${r.index} (${r.history.join(", ")})`;
      const { disorder, repeatedLate } = orderOf(r);
      if (repeatedLate.length > 0) clientRepeats.push(`${r.kind} #${r.index}: ${repeatedLate.join(", ")}`);
      expect(disorder, `${label}: in order, once`).toEqual([]);
      expect(stream.acked.filter((n) => !r.numbers.includes(n)), `${label}: missed`).toEqual([]);
    }
    // acked: handled exactly once; not acked: at most once
    expect(acked.filter((id) => audited.get(id) !== 1).map((id) => `${id} × ${audited.get(id) ?? 0}`)).toEqual([]);
    expect(unacked.filter((id) => (audited.get(id) ?? 0) > 1)).toEqual([]);
    expect(receivers.every((r) => r.freshSessions === 0)).toBe(true);
    if (clientRepeats.length > 0) console.log(`network faults, ${name}: repeated by socket.io-client (a packet of the old connection delivered after the disconnect): ${clientRepeats.join("; ")}`);
  } finally {
    for (const r of receivers) r.socket.close();
    sender.close();
    watcher.close();
    await proxy.close();
    expect(await server.stop()).toBe(0);
  }
}

const random = <T>(items: readonly T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

/** Until `until` (a Date.now()), every `periodMs`: `strike` one of `candidates()` at random (none: skipped). How many were struck. */
async function strikeRandomly<T>(until: number, periodMs: number, candidates: () => T[], strike: (victim: T) => void): Promise<number> {
  let struck = 0;
  while (Date.now() < until) {
    const victim = random(candidates());
    if (victim !== undefined) {
      strike(victim);
      struck++;
    }
    await pause(periodMs);
  }
  return struck;
}

describe("network faults between clients and the server (default, WebSocket-only and polling-only clients)", () => {
  const strikes = [
    { name: "resets", title: "TCP resets of random connections, ~6 a second", strike: (c: ProxiedConnection) => c.reset() },
    { name: "clean closes", title: "clean closes (FIN) of random connections, ~6 a second", strike: (c: ProxiedConnection) => c.close() },
  ];
  for (const { name, title, strike } of strikes) {
    it(title, { timeout: 240_000 }, async () => {
      await run(name, {
        perKind: 30,
        durationMs: 12_000,
        async faults(proxy, until) {
          return `${await strikeRandomly(until, 160, () => [...proxy.connections], strike)} ${name}`;
        },
      });
    });
  }

  it("silent blackholes: the heartbeat finds them, the clients come back with their session", { timeout: 240_000 }, async () => {
    await run("blackholes", {
      perKind: 20,
      durationMs: 10_000,
      // a short heartbeat, so that both sides notice within the test
      env: { PING_INTERVAL: "2000", PING_TIMEOUT: "2000", UPGRADE_WINDOW: "1000" },
      async faults(proxy, until) {
        const holes = await strikeRandomly(until, 500, () => [...proxy.connections].filter((c) => !c.blackholed), (c) => c.blackhole());
        // the heartbeat's bound (PING_INTERVAL + PING_TIMEOUT) and the reconnection delay
        await pause(4000 + 5000);
        return `${holes} connections blackholed`;
      },
    });
  });

  it("zombie sessions: a client back on a new connection while the server still holds its dead one is restored at once", { timeout: 240_000 }, async () => {
    await run("zombies", {
      perKind: 10,
      durationMs: 8_000,
      // the default heartbeat: the server cannot notice a dead connection within the test
      async faults(proxy, until, receivers) {
        const victims = receivers.filter((r) => r.kind !== "polling");
        const zombies = await strikeRandomly(until, 400, () => victims.filter((r) => r.socket.connected), (victim) => {
          // the client's connections go silent; the client notices first (a network change) and reconnects
          for (const conn of proxy.connections) if (conn.client.remotePort === localPortOf(victim.socket)) conn.blackhole();
          victim.socket.io.engine.close();
        });
        return `${zombies} clients reconnected while the server still held their dead connection`;
      },
    });
  });

  it("latency with jitter (100 ms ± 80 ms) and a bandwidth cap (64 KB/s per connection and direction)", { timeout: 240_000 }, async () => {
    await run("latency and bandwidth", {
      perKind: 20,
      durationMs: 10_000,
      async faults(proxy, until) {
        proxy.setLatency(100, 80);
        proxy.setBandwidth(64 * 1024);
        // and a reset now and then, so that reconnections happen on the slow network too
        const resets = await strikeRandomly(until, 1000, () => [...proxy.connections], (c) => c.reset());
        return `100 ms ± 80 ms, 64 KB/s, ${resets} resets`;
      },
    });
  });
});

/** The local port of a client's current transport connection (WebSocket only), to find it at the proxy. */
function localPortOf(socket: Socket): number | undefined {
  const transport = socket.io.engine?.transport as unknown as { ws?: { _socket?: { localPort?: number } } } | undefined;
  return transport?.ws?._socket?.localPort;
}
