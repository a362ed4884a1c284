import { fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { io, type Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "./helpers/server";
import { engineFromEnv, skipUnlessServes } from "./helpers/engines";

/**
 * Reconnect storms (issue 12): N clients with socket.io-client's DEFAULT options (reconnection
 * delay 1 s, max 5 s, randomization 0.5; polling then WebSocket), all from 127.0.0.1 (one address:
 * the NAT case), against 2 workers at the default settings (uWS, the default admission limits,
 * recovery on). (b) every worker SIGKILLed at once, the primary restarts them; (c) a full restart:
 * the primary hands over (SIGUSR2) and a new primary is started on the same port. Measured, and
 * printed as one JSON line per phase: time until every client is back and recovered, failed
 * attempts and their reasons, refusals, CPU-seconds of the primary, the workers and the clients.
 * Asserted: no client refused by admission (429), every client back with its session
 * (`socket.recovered`), every acknowledged broadcast received exactly once by every client.
 *
 * `STORM_CLIENTS` (default 2,000 here; the README's figures are for 10,000) sets N; the clients
 * live in `STORM_FLEETS` child processes (test/fixtures/storm-fleet.js, default 2).
 */
const N = Number(process.env.STORM_CLIENTS || 2000);
const FLEETS = Number(process.env.STORM_FLEETS || 2);
const BROADCAST_PAUSE_MS = 500;
const FLEET_SCRIPT = path.join(__dirname, "fixtures", "storm-fleet.js");
// generous bounds only (a client's default backoff reaches 5 s ± 50 % after a few attempts; the
// recovery window is 120 s): the figures are printed, not asserted
const BACK_TIMEOUT_MS = 110_000;
const DEFAULT_ENV = { MAX_CONNECTIONS_PER_IP: "", CONNECTION_RATE: "", CONNECTION_BURST: "", EVENT_RATE: "" };

interface PhaseReport {
  phase: string;
  clients: number;
  markAt: number;
  down: number;
  connected: number;
  disconnects: Record<string, number>;
  connectErrors: Record<string, number>;
  attempts: number;
  maxAttempts: number;
  reconnects: number;
  recovered: number;
  notRecovered: number;
  recoveredNow: number;
  firstBackAt: number | null;
  allBackAt: number | null;
  allRecoveredAt: number | null;
}

interface Checked {
  timedOut: boolean;
  waitedMs: number;
  clients: number;
  acked: number;
  missing: number;
  missingTotal: number;
  duplicated: number;
  duplicatesTotal: number;
  outOfOrder: number;
  example: unknown;
}

type FleetMessage = { type: string; [key: string]: unknown };

/** One child process with a share of the clients; messages awaited by type. */
class Fleet {
  readonly child: ChildProcess;
  private readonly inbox: FleetMessage[] = [];
  private readonly waiters: Array<{ type: string; resolve: (m: FleetMessage) => void }> = [];
  private exitedWith: string | undefined;

  constructor() {
    this.child = fork(FLEET_SCRIPT, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.child.on("message", (message: FleetMessage) => {
      const i = this.waiters.findIndex((w) => w.type === message.type);
      if (i === -1) this.inbox.push(message);
      else this.waiters.splice(i, 1)[0].resolve(message);
    });
    this.child.once("exit", (code, signal) => (this.exitedWith = `${code ?? signal}`));
  }

  send(message: Record<string, unknown>): void {
    this.child.send(message);
  }

  next<T>(type: string, timeoutMs: number): Promise<T> {
    const i = this.inbox.findIndex((m) => m.type === type);
    if (i !== -1) return Promise.resolve(this.inbox.splice(i, 1)[0] as T);
    return new Promise<T>((resolve, reject) => {
      const waiter = {
        type,
        resolve: (m: FleetMessage) => {
          clearTimeout(timer);
          this.child.off("exit", onExit);
          resolve(m as T);
        },
      };
      const onExit = () => reject(new Error(`fleet ${this.child.pid} exited (${this.exitedWith}) before "${type}"`));
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        this.child.off("exit", onExit);
        reject(new Error(`fleet ${this.child.pid}: no "${type}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.child.once("exit", onExit);
      this.waiters.push(waiter);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.send({ cmd: "close" });
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** utime + stime of a process, in clock ticks (`/proc/<pid>/stat`), undefined once it is gone. */
function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}
const TICKS_PER_SECOND = 100; // `getconf CLK_TCK` on Linux

type Role = "primary" | "workers" | "clients";

/**
 * CPU used by a set of processes during a phase: sampled every 100 ms so that a process that dies
 * (a SIGKILLed worker) still counts up to its last sample; a process that appears during the phase
 * counts from its start.
 */
function cpuMeter(processes: () => Array<{ pid: number; role: Role }>) {
  const first = new Map<number, number>();
  const last = new Map<number, { ticks: number; role: Role }>();
  const sample = (initial: boolean) => {
    for (const { pid, role } of processes()) {
      const ticks = cpuTicks(pid);
      if (ticks === undefined) continue;
      if (!first.has(pid)) first.set(pid, initial ? ticks : 0);
      last.set(pid, { ticks, role });
    }
  };
  sample(true);
  const timer = setInterval(() => sample(false), 100);
  return {
    stop(): Record<Role, number> {
      sample(false);
      clearInterval(timer);
      const seconds: Record<Role, number> = { primary: 0, workers: 0, clients: 0 };
      for (const [pid, { ticks, role }] of last) seconds[role] += (ticks - first.get(pid)!) / TICKS_PER_SECOND;
      for (const role of Object.keys(seconds) as Role[]) seconds[role] = Math.round(seconds[role] * 100) / 100;
      return seconds;
    },
  };
}

/** Sums the fleets' phase reports. */
function merge(reports: PhaseReport[]) {
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
    return into;
  };
  const latest = (values: Array<number | null>) => (values.some((v) => v === null) ? null : Math.max(...(values as number[])));
  return {
    clients: reports.reduce((s, r) => s + r.clients, 0),
    down: reports.reduce((s, r) => s + r.down, 0),
    connected: reports.reduce((s, r) => s + r.connected, 0),
    recovered: reports.reduce((s, r) => s + r.recovered, 0),
    notRecovered: reports.reduce((s, r) => s + r.notRecovered, 0),
    recoveredNow: reports.reduce((s, r) => s + r.recoveredNow, 0),
    reconnects: reports.reduce((s, r) => s + r.reconnects, 0),
    attempts: reports.reduce((s, r) => s + r.attempts, 0),
    maxAttempts: Math.max(...reports.map((r) => r.maxAttempts)),
    connectErrors: reports.reduce((s, r) => add(s, r.connectErrors), {} as Record<string, number>),
    disconnects: reports.reduce((s, r) => add(s, r.disconnects), {} as Record<string, number>),
    firstBackAt: Math.min(...reports.map((r) => r.firstBackAt ?? Infinity)),
    allBackAt: latest(reports.map((r) => r.allBackAt)),
    allRecoveredAt: latest(reports.map((r) => r.allRecoveredAt)),
  };
}

/** Failed attempts refused by admission control (429), whatever the transport reported. */
const admissionRefusals = (errors: Record<string, number>) =>
  Object.entries(errors)
    .filter(([reason]) => /429|connection rate exceeded|too many connections/.test(reason))
    .reduce((s, [, n]) => s + n, 0);
const unavailableRefusals = (errors: Record<string, number>) =>
  Object.entries(errors)
    .filter(([reason]) => /503/.test(reason))
    .reduce((s, [, n]) => s + n, 0);

// The uWS engine only, for now: on the Node engine (where uWebSockets.js cannot load, ENGINE=uws
// falls back to it) restores wait seconds behind the primary's connection hand-overs during a storm;
// with a 5 s restore bound 40 of 2,000 clients got a new session after every worker was SIGKILLed,
// with today's 15 s all 2,000 recovered in one run (README, "Not yet in the suite on the Node engine").
// `STORM_ENGINE=node` runs it on the Node engine all the same (but the handover: that engine cannot
// keep the port), to measure that.
const ENGINE = engineFromEnv("STORM_ENGINE");
describe.skipIf(skipUnlessServes(ENGINE))(`reconnect storms (issue 12, ENGINE=${ENGINE}): ${N} default clients from one address, 2 workers, default settings`, () => {
  let server: RunningServer;
  /** Every server started here (the handed-over primary's PIDs stay measurable until they exit). */
  const servers: RunningServer[] = [];
  const fleets: Fleet[] = [];
  let sender: Socket;
  const acked: number[] = [];
  let sending = true;
  let sendLoop: Promise<void>;

  const ackWaiters: Array<{ count: number; resolve: () => void }> = [];
  const ackedAtLeast = (count: number) =>
    acked.length >= count ? Promise.resolve() : new Promise<void>((resolve) => ackWaiters.push({ count, resolve }));
  const onAcked = (n: number) => {
    acked.push(n);
    for (const waiter of ackWaiters.filter((w) => acked.length >= w.count)) {
      ackWaiters.splice(ackWaiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };

  const processes = () => [
    ...servers.flatMap((s) => [{ pid: s.child.pid!, role: "primary" as Role }, ...s.workerPids().map((pid) => ({ pid, role: "workers" as Role }))]),
    ...fleets.map((f) => ({ pid: f.child.pid!, role: "clients" as Role })),
  ];

  /** Marks a phase in every fleet, runs `disrupt`, awaits every client back; prints and returns the figures. */
  async function storm(phase: string, disrupt: () => Promise<void>) {
    // a few broadcasts acked before the storm (the ones every client must have, whatever happens)
    await ackedAtLeast(acked.length + 3);
    for (const fleet of fleets) fleet.send({ cmd: "mark", phase });
    const backs = fleets.map((f) => f.next<{ report: PhaseReport }>("back", BACK_TIMEOUT_MS));
    const cpu = cpuMeter(processes);
    const ackedBefore = acked.length;
    const start = Date.now();
    await disrupt();
    const reports = await Promise.allSettled(backs);
    const cpuSeconds = cpu.stop();
    if (reports.some((r) => r.status === "rejected")) {
      // stuck: what the fleets saw so far, for the failure message
      for (const fleet of fleets) fleet.send({ cmd: "report" });
      const now = await Promise.all(fleets.map((f) => f.next<{ report: PhaseReport }>("report", 10_000)));
      throw new Error(`${phase}: not every client came back: ${JSON.stringify(merge(now.map((r) => r.report)))}`);
    }
    const merged = merge(reports.map((r) => (r as PromiseFulfilledResult<{ report: PhaseReport }>).value.report));
    // every acked broadcast (sent before and during the storm) received exactly once by every client
    const snapshot = [...acked];
    for (const fleet of fleets) fleet.send({ cmd: "check", acked: snapshot, last: snapshot[snapshot.length - 1], timeoutMs: 60_000 });
    const checks = await Promise.all(fleets.map((f) => f.next<Checked>("checked", 70_000)));
    const figures = {
      phase,
      clients: merged.clients,
      allBackMs: merged.allBackAt === null ? null : merged.allBackAt - start,
      allRecoveredMs: merged.allRecoveredAt === null ? null : merged.allRecoveredAt - start,
      firstBackMs: merged.firstBackAt - start,
      recovered: merged.recovered,
      notRecovered: merged.notRecovered,
      reconnectAttempts: merged.attempts,
      maxAttemptsOneClient: merged.maxAttempts,
      failedAttempts: Object.values(merged.connectErrors).reduce((s, n) => s + n, 0),
      failedAttemptReasons: merged.connectErrors,
      refused429: admissionRefusals(merged.connectErrors),
      refused503: unavailableRefusals(merged.connectErrors),
      disconnects: merged.disconnects,
      cpuSeconds,
      broadcasts: {
        ackedBefore,
        ackedDuring: snapshot.length - ackedBefore,
        checkedClients: checks.reduce((s, c) => s + c.clients, 0),
        clientsMissingOne: checks.reduce((s, c) => s + c.missing, 0),
        clientsWithDuplicates: checks.reduce((s, c) => s + c.duplicated, 0),
        clientsOutOfOrder: checks.reduce((s, c) => s + c.outOfOrder, 0),
        timedOut: checks.some((c) => c.timedOut),
      },
    };
    console.log(`reconnect storm: ${JSON.stringify(figures)}`);
    return { figures, merged, checks };
  }

  function expectHealthy(result: Awaited<ReturnType<typeof storm>>) {
    const { figures, merged, checks } = result;
    // no legitimate client refused by admission control
    expect(figures.refused429, JSON.stringify(figures.failedAttemptReasons)).toBe(0);
    // every client back, with its session
    expect(merged.connected).toBe(N);
    expect(merged.down).toBe(N);
    expect(merged.recoveredNow).toBe(N);
    expect(figures.allRecoveredMs).not.toBeNull();
    // every acked broadcast exactly once, in order, for every client
    for (const check of checks) {
      expect(check.timedOut, JSON.stringify(check.example)).toBe(false);
      expect(check.missing, JSON.stringify(check.example)).toBe(0);
      expect(check.duplicated, JSON.stringify(check.example)).toBe(0);
      expect(check.outOfOrder, JSON.stringify(check.example)).toBe(0);
    }
    expect(figures.broadcasts.checkedClients).toBe(N);
  }

  beforeAll(async () => {
    server = await startServer({ workers: 2, engine: ENGINE, env: DEFAULT_ENV });
    servers.push(server);
    for (let i = 0; i < FLEETS; i++) fleets.push(new Fleet());
  });

  afterAll(async () => {
    sending = false;
    await sendLoop;
    sender?.close();
    await Promise.all(fleets.map((f) => f.close()));
    for (const s of servers) await s.stop();
  });

  it(`connects ${N} default clients at once`, { timeout: 120_000 }, async () => {
    const cpu = cpuMeter(processes);
    const start = Date.now();
    fleets.forEach((fleet, i) => fleet.send({ cmd: "connect", url: server.url, count: Math.floor(N / FLEETS) + (i < N % FLEETS ? 1 : 0) }));
    const connected = await Promise.all(fleets.map((f) => f.next<{ ms: number; errors: Record<string, number> }>("connected", 110_000)));
    const errors: Record<string, number> = {};
    for (const c of connected) for (const [k, v] of Object.entries(c.errors)) errors[k] = (errors[k] ?? 0) + v;
    const figures = { phase: "connect", clients: N, allConnectedMs: Date.now() - start, failedAttempts: Object.values(errors).reduce((s, n) => s + n, 0), failedAttemptReasons: errors, cpuSeconds: cpu.stop() };
    console.log(`reconnect storm: ${JSON.stringify(figures)}`);
    expect(admissionRefusals(errors), JSON.stringify(errors)).toBe(0);

    // a numbered broadcast to all every 500 ms from one more default client, acked once the server took it
    sender = io(server.url, { forceNew: true });
    await new Promise<void>((resolve) => sender.once("connect", resolve));
    sendLoop = (async () => {
      for (let n = 1; sending; n++) {
        try {
          await sender.timeout(60_000).emitWithAck("shout", { to: "all", payload: { n } });
          onAcked(n);
        } catch {
          // not acked (the sender's worker went away): it may or may not have gone out
        }
        await new Promise((resolve) => setTimeout(resolve, BROADCAST_PAUSE_MS));
      }
    })();
  });

  it("every worker SIGKILLed at once: every client back, recovered, no admission refusal, every broadcast once", { timeout: 240_000 }, async () => {
    const killed = server.workerPids();
    expect(killed).toHaveLength(2);
    const result = await storm("workers-killed", async () => {
      for (const pid of killed) process.kill(pid, "SIGKILL");
    });
    expectHealthy(result);
    // the primary restarted both
    expect(server.workerPids().filter((pid) => !killed.includes(pid))).toHaveLength(2);
  });

  it.skipIf(ENGINE === "node")("full restart (the primary hands over with SIGUSR2, a new primary on the same port): every client back, recovered, every broadcast once", { timeout: 240_000 }, async () => {
    const old = server;
    const result = await storm("full-restart-handover", async () => {
      old.child.kill("SIGUSR2");
      // the recovery log is in the handover file once the primary says so (its workers log their own "handed-over" first)
      await old.waitForLog((r) => r.event === "handed-over" && r.role === "primary", 60_000);
      server = await startServer({ workers: 2, engine: ENGINE, env: DEFAULT_ENV, port: old.port });
      servers.push(server);
    });
    // the uWS workers keep the port until the new ones listen
    expect(old.logs.find((r) => r.event === "handed-over" && r.role === "primary")).toMatchObject({ workers: 2 });
    expect(server.logs.find((r) => r.event === "handover-taken" && r.role === "primary")).toMatchObject({ workers: 2 });
    expectHealthy(result);
  });
});
