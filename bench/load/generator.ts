/**
 * A load-generator process (forked by the harness, several at once): holds simulated clients
 * and runs one command at a time for the harness, answering with the result and its own CPU and
 * event-loop lag. Counters go up to the harness every 500 ms for the progress display.
 */
import { Histogram, nowUs } from "../lib/percentiles";
import { Conn, connectPolling, connectWebSocket, pollingCounters, type FrameSink } from "./connection";
import type {
  Command,
  ConnectResult,
  EchoResult,
  ReceiveResult,
  Reply,
  Request,
  ShoutResult,
  StatusResult,
  Tick,
} from "./messages";
import { echoFrame, joinFrame, parseBroadcast, shoutFrame, shoutPrefix, whoamiFrame } from "./protocol";
import { UsageMeter } from "./usage";

let conns: Conn[] = [];
let progress = 0;
let lost = 0;

// --- echo state
const echoLatency = new Histogram();
let echoAcked = 0;
let echoRecordFromUs = Infinity;
let onEchoAck: ((conn: Conn) => void) | undefined;

// --- broadcast state
const receiveLatency = new Histogram();
let received = 0;
let firstReceiveUs = 0;
let lastReceiveUs = 0;
let perConn = new Uint32Array(0);
/** Set while this process sends shouts: called for every broadcast a clock connection receives. */
let onClockReceipt: ((conn: Conn, seq: number) => void) | undefined;
let senderIndex = -1;

const sink: FrameSink = {
  echoAck(conn, scheduledUs) {
    const now = nowUs();
    if (scheduledUs >= echoRecordFromUs) {
      echoLatency.record(now - scheduledUs);
      echoAcked++;
    }
    progress++;
    onEchoAck?.(conn);
  },
  event(conn, data) {
    const broadcast = parseBroadcast(data);
    if (!broadcast) return;
    if (conn.index !== senderIndex) {
      const now = nowUs();
      receiveLatency.record(now - broadcast.sentUs);
      received++;
      progress++;
      if (firstReceiveUs === 0) firstReceiveUs = now;
      lastReceiveUs = now;
      if (conn.index < perConn.length) perConn[conn.index]!++;
    }
    onClockReceipt?.(conn, broadcast.seq);
  },
  lost() {
    lost++;
  },
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function connect(c: Extract<Command, { cmd: "connect" }>): Promise<ConnectResult> {
  const latency = new Histogram();
  const errors: string[] = [];
  let failed = 0;
  let next = 0;
  const start = Date.now();
  const base = conns.length;
  const counters = { ...pollingCounters };
  const created: Conn[] = [];
  let lastSuccessMs = 0;
  const one = async () => {
    while (next < c.count) {
      const k = next++;
      const conn = new Conn(base + k, sink);
      const localAddress = c.localAddresses.length ? c.localAddresses[k % c.localAddresses.length] : undefined;
      const t0 = nowUs();
      try {
        if (c.transport === "websocket") await connectWebSocket(conn, c.host, c.port, localAddress, c.timeoutMs);
        else await connectPolling(conn, c.host, c.port, localAddress, c.timeoutMs);
        latency.record(nowUs() - t0);
        created[k] = conn;
        progress++;
        lastSuccessMs = Date.now() - start;
      } catch (err) {
        failed++;
        if (errors.length < 5) errors.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(c.concurrency, c.count) }, one));
  const elapsedMs = Date.now() - start;
  conns = [...conns, ...created.filter((conn): conn is Conn => conn !== undefined)];
  conns.forEach((conn, i) => (conn.index = i));
  return {
    connected: c.count - failed,
    failed,
    errors,
    elapsedMs,
    lastSuccessMs,
    latency: latency.toJSON(),
    httpRequests: pollingCounters.requests - counters.requests,
    polls: pollingCounters.polls - counters.polls,
  };
}

async function whoami(): Promise<string[]> {
  return Promise.all(
    conns.map(async (conn) => {
      const { data, offset } = await conn.request(whoamiFrame);
      const [info] = JSON.parse(data.subarray(offset).toString()) as [{ instance: string }];
      conn.instance = info.instance;
      return info.instance;
    }),
  );
}

async function join(rooms: number, skip: number[]): Promise<number> {
  let j = 0;
  const waits: Promise<unknown>[] = [];
  for (const conn of conns) {
    if (skip.includes(conn.index)) continue;
    const room = `r${j++ % rooms}`;
    conn.room = room;
    waits.push(conn.request((id) => joinFrame(id, room)));
  }
  await Promise.all(waits);
  return waits.length;
}

function resetEcho(recordFromUs: number): void {
  echoLatency.reset();
  echoAcked = 0;
  echoRecordFromUs = recordFromUs;
}

/** Closed loop: every connection keeps `window` echoes in flight; latency from the send. */
async function echoMax(c: Extract<Command, { cmd: "echoMax" }>): Promise<EchoResult> {
  const start = nowUs();
  resetEcho(start + c.warmupMs * 1000);
  let sent = 0;
  let running = true;
  const fire = (conn: Conn) => {
    const id = conn.nextAckId();
    conn.echoes.set(id, nowUs());
    conn.send(echoFrame(id));
    sent++;
  };
  onEchoAck = (conn) => {
    if (running && conn.open) fire(conn);
  };
  for (const conn of conns) for (let i = 0; i < c.window; i++) fire(conn);
  await sleep(c.warmupMs + c.durationMs);
  running = false;
  const elapsedMs = c.durationMs;
  const acked = echoAcked;
  const latency = echoLatency.toJSON();
  await drainEchoes(5000);
  onEchoAck = undefined;
  return { sent, acked, unanswered: 0, elapsedMs, latency };
}

/**
 * Open loop at a fixed rate: sends are scheduled at fixed intervals, spread round-robin over the
 * connections, and latency is measured from the scheduled time, so that a stall (of the server or
 * of this process) shows in the figures instead of delaying the next sends.
 */
async function echoRate(c: Extract<Command, { cmd: "echoRate" }>): Promise<EchoResult> {
  const intervalUs = 1e6 / c.rate;
  const start = nowUs();
  const measureFrom = start + c.warmupMs * 1000;
  const end = measureFrom + c.durationMs * 1000;
  resetEcho(measureFrom);
  let k = 0;
  let sent = 0;
  let cursor = 0;
  const open = conns.filter((conn) => conn.open);
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = nowUs();
      while (true) {
        const scheduled = start + k * intervalUs;
        if (scheduled > now || scheduled >= end) break;
        const conn = open[cursor++ % open.length]!;
        const id = conn.nextAckId();
        conn.echoes.set(id, scheduled);
        conn.send(echoFrame(id));
        k++;
        if (scheduled >= measureFrom) sent++;
      }
      if (start + k * intervalUs >= end) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await drainEchoes(c.drainMs);
  let unanswered = 0;
  for (const conn of open) {
    for (const scheduled of conn.echoes.values()) if (scheduled >= measureFrom) unanswered++;
    conn.echoes.clear();
  }
  return { sent, acked: echoAcked, unanswered, elapsedMs: c.durationMs, latency: echoLatency.toJSON() };
}

async function drainEchoes(maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline && conns.some((conn) => conn.echoes.size > 0)) await sleep(20);
}

function listen(): void {
  receiveLatency.reset();
  received = 0;
  firstReceiveUs = 0;
  lastReceiveUs = 0;
  perConn = new Uint32Array(conns.length);
}

function receivedResult(): ReceiveResult {
  let silent = 0;
  let receivers = 0;
  for (const conn of conns) {
    if (conn.index === senderIndex || !conn.open) continue;
    receivers++;
    if (perConn[conn.index] === 0) silent++;
  }
  return { received, silent, receivers, firstReceiveUs, lastReceiveUs, latency: receiveLatency.toJSON() };
}

/** One local receiver of `target` (a room, or `all`) per server process: their receipt completes a shout. */
function clocksFor(target: string, sender: number): Set<number> {
  const byInstance = new Map<string, number>();
  for (const conn of conns) {
    if (conn.index === sender || !conn.open) continue;
    if (target !== "all" && conn.room !== target) continue;
    if (!byInstance.has(conn.instance)) byInstance.set(conn.instance, conn.index);
  }
  return new Set(byInstance.values());
}

/**
 * The sender: `shout`s to everyone or round-robin to the rooms, keeping at most `window` shouts
 * whose clock receivers (local connections on each server process) have not all received them.
 */
async function shout(c: Extract<Command, { cmd: "shout" }>): Promise<ShoutResult> {
  const sender = conns[c.sender]!;
  senderIndex = c.sender;
  const targets = c.rooms > 0 ? Array.from({ length: c.rooms }, (_, r) => `r${r}`) : ["all"];
  const prefixes = targets.map((t) => shoutPrefix(t === "all" ? undefined : t));
  const clockSets = targets.map((t) => clocksFor(t, c.sender));
  const pending = new Map<number, { left: number; at: number }>();
  let seq = 0;
  let completed = 0;
  let abandoned = 0;
  let firstSendUs = 0;
  let lastSendUs = 0;
  const end = Date.now() + c.durationMs;
  const pump = () => {
    while (pending.size < c.window && Date.now() < end && sender.open) {
      const target = seq % targets.length;
      const t = nowUs();
      if (firstSendUs === 0) firstSendUs = t;
      lastSendUs = t;
      const clocks = clockSets[target]!.size;
      if (clocks > 0) pending.set(seq, { left: clocks, at: Date.now() });
      sender.send(shoutFrame(prefixes[target]!, seq, t));
      seq++;
      if (clocks === 0) break; // no clock for this target: one shout per turn of the event loop
    }
  };
  onClockReceipt = (conn, s) => {
    const target = s % targets.length;
    if (!clockSets[target]!.has(conn.index)) return;
    const entry = pending.get(s);
    if (!entry) return;
    if (--entry.left === 0) {
      pending.delete(s);
      completed++;
      pump();
    }
  };
  const timer = setInterval(() => {
    const now = Date.now();
    for (const [s, entry] of pending) {
      if (now - entry.at > 5000) {
        pending.delete(s);
        abandoned++;
      }
    }
    pump();
  }, 5);
  pump();
  while (Date.now() < end) await sleep(20);
  clearInterval(timer);
  const drainUntil = Date.now() + 5000;
  while (pending.size > 0 && Date.now() < drainUntil) await sleep(10);
  onClockReceipt = undefined;
  return { sent: seq, completed, abandoned: abandoned + pending.size, firstSendUs, lastSendUs };
}

/**
 * The sender at a fixed rate (open loop): shouts are scheduled at fixed intervals and carry their
 * scheduled time, so that delivery latency counts any stall, wherever it happens.
 */
async function shoutAtRate(c: Extract<Command, { cmd: "shoutAtRate" }>): Promise<ShoutResult> {
  const sender = conns[c.sender]!;
  senderIndex = c.sender;
  const prefixes = c.rooms > 0 ? Array.from({ length: c.rooms }, (_, r) => shoutPrefix(`r${r}`)) : [shoutPrefix()];
  const intervalUs = 1e6 / c.rate;
  const start = nowUs();
  const end = start + c.durationMs * 1000;
  let seq = 0;
  let lastSendUs = start;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = nowUs();
      while (sender.open) {
        const scheduled = Math.round(start + seq * intervalUs);
        if (scheduled > now || scheduled >= end) break;
        sender.send(shoutFrame(prefixes[seq % prefixes.length]!, seq, scheduled));
        lastSendUs = scheduled;
        seq++;
      }
      if (!sender.open || start + seq * intervalUs >= end) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  return { sent: seq, completed: 0, abandoned: 0, firstSendUs: start, lastSendUs };
}

function shoutOnce(sender: number): ShoutResult {
  // the asked connection, or another open one of this generator if the server closed it
  const index = conns[sender]?.open ? sender : conns.findIndex((conn) => conn.open);
  if (index < 0) throw new Error(`no open connection to send the broadcast from (${conns.length} held)`);
  senderIndex = index;
  const t = nowUs();
  conns[index]!.send(shoutFrame(shoutPrefix(), 0, t));
  return { sent: 1, completed: 0, abandoned: 0, firstSendUs: t, lastSendUs: t };
}

function keep(indices: number[]): number {
  const wanted = new Set(indices);
  const kept: Conn[] = [];
  for (const conn of conns) {
    if (wanted.has(conn.index)) kept.push(conn);
    else conn.close();
  }
  conns = kept;
  conns.forEach((conn, i) => (conn.index = i));
  senderIndex = -1;
  return kept.length;
}

async function closeAll(): Promise<number> {
  const count = conns.length;
  for (const conn of conns) conn.close();
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && conns.some((conn) => conn.ws && conn.ws.readyState !== conn.ws.CLOSED)) await sleep(20);
  for (const conn of conns) conn.destroy();
  conns = [];
  senderIndex = -1;
  lost = 0;
  return count;
}

async function run(command: Command): Promise<unknown> {
  switch (command.cmd) {
    case "connect":
      return connect(command);
    case "whoami":
      return whoami();
    case "keep":
      return keep(command.indices);
    case "join":
      return join(command.rooms, command.skip);
    case "echoMax":
      return echoMax(command);
    case "echoRate":
      return echoRate(command);
    case "listen":
      listen();
      listenMeter.start();
      return null;
    case "received":
      return receivedResult();
    case "shout":
      return shout(command);
    case "shoutAtRate":
      return shoutAtRate(command);
    case "shoutOnce":
      return shoutOnce(command.sender);
    case "status":
      return { open: conns.filter((conn) => conn.open).length, lost } satisfies StatusResult;
    case "close":
      return closeAll();
    case "exit":
      setTimeout(() => process.exit(0), 10);
      return null;
  }
}

const commandMeter = new UsageMeter();
const listenMeter = new UsageMeter();

process.on("message", (request: Request) => {
  commandMeter.start();
  progress = 0;
  run(request).then(
    (result) => {
      // `received` reports the usage over the whole receive window (since `listen`)
      const usage = request.cmd === "received" ? listenMeter.read() : commandMeter.read();
      process.send!({ id: request.id, ok: true, result, usage } satisfies Reply);
    },
    (err: unknown) => {
      process.send!({ id: request.id, ok: false, error: (err as Error).message, usage: commandMeter.read() } satisfies Reply);
    },
  );
});

setInterval(() => process.send!({ tick: progress } satisfies Tick), 500).unref();
process.on("disconnect", () => process.exit(0));
