import { spawnSync } from "node:child_process";
import { cpSync, existsSync, utimesSync } from "node:fs";
import path from "node:path";
import type { Socket } from "socket.io-client";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { closeAll, connect, connectMany, eventually, whoami, WS_ONLY, type ClientOptions } from "./helpers/clients";
import { createPm2, isGone, type Pm2, type Pm2Process } from "./helpers/pm2";
import { freePort, ROOT, type ClusterStatsView, type LogRecord } from "./helpers/server";

// The production recipe, as an operator runs it: `npx pm2 start ecosystem.config.js --env production`
// with PORT and WORKERS in the environment, under an isolated PM2_HOME, in a fresh copy of the
// project (sources and node_modules, no dist/: what `npm install` leaves). The tests run in order
// on the same pm2 app: start, `pm2 reload`, SIGHUP rolling restart, stop; then the build check.

const APP = "socketio-runtime";
const WORKERS = 2;
const fast: ClientOptions = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 1000 };

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

describe("pm2 (ecosystem.config.js, fork mode, the primary owns the cluster)", () => {
  let pm2: Pm2;
  let port = 0;
  let url = "";
  /** The admin listener (`ADMIN_PORT`): `/stats`. */
  let adminUrl = "";
  /** Every primary and worker PID seen, to check that none is left at the end. */
  const pids = new Set<number>();
  const sockets: Socket[] = [];

  const stats = async (): Promise<ClusterStatsView> => {
    const view = (await (await fetch(`${adminUrl}/stats`)).json()) as ClusterStatsView;
    pids.add(view.primaryPid);
    for (const w of view.workers) pids.add(w.pid);
    return view;
  };
  const app = async (): Promise<Pm2Process> => {
    const found = (await pm2.jlist()).find((p) => p.name === APP);
    if (!found) throw new Error(`${APP} is not in pm2 jlist`);
    return found;
  };

  let failed = false;
  afterEach((context) => {
    if (context.task.result?.state === "fail") failed = true;
  });

  afterAll(async () => {
    closeAll(sockets);
    if (!pm2) return;
    if (failed) {
      // the app's and pm2's logs, for the failure's story
      const to = path.join(ROOT, "test-artifacts", `pm2-${new Date().toISOString().replace(/[:.]/g, "-")}`);
      cpSync(pm2.logDir, to, { recursive: true });
      if (existsSync(path.join(pm2.home, "pm2.log"))) cpSync(path.join(pm2.home, "pm2.log"), path.join(to, "pm2.log"));
      console.log(`logs copied to ${to}`);
    }
    await pm2.kill();
    // belt and braces: nothing of ours may outlive the file
    for (const pid of pids) {
      if (!isGone(pid)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
  }, 30_000);

  it("starts with `npx pm2 start ecosystem.config.js --env production`: online only once every worker listens", async () => {
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const adminPort = await freePort();
    adminUrl = `http://127.0.0.1:${adminPort}`;
    pm2 = createPm2({ PORT: String(port), ADMIN_PORT: String(adminPort), WORKERS: String(WORKERS), APP: "echo", HOST: "127.0.0.1", LOG_LEVEL: "info" });
    // the daemon first, so that the status polls below cannot race `start` to spawn it
    expect((await pm2.run(["ping"])).code).toBe(0);

    const main = path.join(pm2.project, "dist", "main.js");
    expect(existsSync(main)).toBe(false);

    // poll pm2's view of the app while it starts (two pollers, staggered)
    const polls: Array<{ end: number; status: string | undefined }> = [];
    let starting = true;
    const poller = async (delayMs: number) => {
      await new Promise((r) => setTimeout(r, delayMs));
      while (starting) {
        const list = await pm2.jlist().catch(() => []);
        polls.push({ end: Date.now(), status: list.find((p) => p.name === APP)?.status });
      }
    };
    const pollers = [poller(0), poller(150)];
    const start = await pm2.run(["start", "ecosystem.config.js", "--env", "production"], { npx: true, timeoutMs: 60_000 });
    starting = false;
    await Promise.all(pollers);
    expect(start.code, start.stdout + start.stderr).toBe(0);
    expect(start.stdout).toContain("wait_ready");
    // no dist/: the process file built it
    expect(start.stderr).toContain("building dist/");
    expect(existsSync(main)).toBe(true);

    // `pm2 start` returned: the app is online, and every worker already listens (no retry needed)
    const proc = await app();
    expect(proc.status).toBe("online");
    expect(proc.execMode).toBe("fork_mode");
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const view = await stats();
    expect(view.primaryPid).toBe(proc.pid);
    expect(view.workers).toHaveLength(WORKERS);

    // wait_ready: pm2 said "online" only after the primary logged that every worker listens
    const records = pm2.logs();
    const listen = records.find((r) => r.event === "listen" && r.role === "primary" && r.pid === proc.pid)!;
    expect(listen).toBeTruthy();
    const workerListens = records.filter((r) => r.event === "listen" && r.role === "worker");
    expect(workerListens).toHaveLength(WORKERS);
    for (const r of workerListens) expect(r.time as number).toBeLessThanOrEqual(listen.time as number);
    const before = polls.filter((p) => p.end < (listen.time as number));
    expect(before.some((p) => p.status === "launching"), JSON.stringify(polls)).toBe(true);
    expect(before.filter((p) => p.status === "online")).toEqual([]);

    // PORT and WORKERS came from the environment; a default client works
    expect(records.find((r) => r.event === "start" && r.role === "primary")).toMatchObject({ port, workers: WORKERS, app: "echo" });
    const client = await connect(url);
    sockets.push(client);
    expect(await client.timeout(30_000).emitWithAck("echo", { hello: "pm2" })).toEqual({ hello: "pm2" });
    client.close();
  });

  it("`pm2 reload` restarts gracefully: the old primary drains, clients reconnect on their own, the gap is bounded", async () => {
    const before = await stats();
    // 10 default clients (default reconnection backoff: 1 s ± 50 %, doubling) and 10 retrying every 100 ms
    const defaults = await connectMany(url, 10, { reconnection: true });
    const quick = await connectMany(url, 10, fast);
    const clients = [...defaults, ...quick];
    sockets.push(...clients);
    const downtime = new Map<Socket, { down?: number; up?: number; reasons: string[] }>();
    for (const s of clients) {
      const entry: { down?: number; up?: number; reasons: string[] } = { reasons: [] };
      downtime.set(s, entry);
      s.on("disconnect", (reason) => {
        entry.down ??= Date.now();
        entry.reasons.push(reason);
      });
      s.on("connect", () => (entry.up ??= Date.now()));
    }

    const reload = await pm2.run(["reload", APP], { timeoutMs: 60_000 });
    expect(reload.code, reload.stdout + reload.stderr).toBe(0);
    await eventually(() => [...downtime.values()].every((e) => e.up !== undefined), 20_000, "every client reconnected");

    // a new primary and new workers; the old primary drained and exited 0
    const proc = await app();
    expect(proc.status).toBe("online");
    const after = await stats();
    expect(after.primaryPid).toBe(proc.pid);
    expect(after.primaryPid).not.toBe(before.primaryPid);
    expect(after.workers).toHaveLength(WORKERS);
    for (const w of after.workers) expect(before.workers.map((o) => o.pid)).not.toContain(w.pid);
    for (const pid of [before.primaryPid, ...before.workers.map((w) => w.pid)]) expect(isGone(pid)).toBe(true);
    const records = pm2.logs();
    const shutdown = records.find((r) => r.pid === before.primaryPid && r.event === "shutdown")!;
    expect(shutdown).toMatchObject({ reason: "SIGINT" });
    expect(records.find((r) => r.pid === before.primaryPid && r.event === "exit")).toMatchObject({ code: 0 });
    const listen = records.find((r) => r.pid === after.primaryPid && r.event === "listen" && r.role === "primary")!;

    // every client was told to reconnect ("transport close", not "io server disconnect"), once
    for (const e of downtime.values()) expect(e.reasons).toEqual(["transport close"]);
    const per = (group: Socket[]) => group.map((s) => downtime.get(s)!.up! - downtime.get(s)!.down!);
    const quickMs = per(quick);
    const defaultMs = per(defaults);
    const all = [...downtime.values()];
    const oldExit = records.find((r) => r.pid === before.primaryPid && r.event === "exit")!;
    const newStart = records.find((r) => r.pid === after.primaryPid && r.event === "start")!;
    const at = (r: LogRecord) => r.time as number;
    const figures = {
      reloadCommandMs: reload.ms,
      // SIGINT → old primary gone (drain) → new primary started (pm2) → every worker listens (boot)
      serverGapMs: at(listen) - at(shutdown),
      drainMs: at(oldExit) - at(shutdown),
      pm2RespawnMs: at(newStart) - at(oldExit),
      bootMs: at(listen) - at(newStart),
      quickClients: { p50: percentile(quickMs, 50), max: Math.max(...quickMs) },
      defaultClients: { p50: percentile(defaultMs, 50), max: Math.max(...defaultMs) },
      firstDownToLastUpMs: Math.max(...all.map((e) => e.up!)) - Math.min(...all.map((e) => e.down!)),
    };
    console.log(`pm2 reload gap: ${JSON.stringify(figures)}`);
    // the old primary drains by itself (it logged its exit with code 0 above: pm2 did not have to
    // kill it at kill_timeout), and every client was told after SIGINT, before the old primary
    // exited (the durations are figures, printed above; docs/pm2.md)
    for (const e of all) {
      expect(e.down!).toBeGreaterThanOrEqual(at(shutdown));
      expect(e.down!).toBeLessThanOrEqual(at(oldExit));
    }
    // every client came back to the new primary's workers: after the first of them listened (the
    // primary's "listen" record waits for all of them, while the first already serves)
    const firstNewWorker = Math.min(
      ...records.filter((r) => r.event === "listen" && r.role === "worker" && after.workers.some((w) => w.pid === r.pid)).map(at),
    );
    for (const e of all) expect(e.up!).toBeGreaterThanOrEqual(firstNewWorker);

    // and they work
    await Promise.all(clients.map(async (s, i) => expect(await s.timeout(30_000).emitWithAck("echo", i)).toBe(i)));
    closeAll(clients);
  });

  it("`npx pm2 sendSignal SIGHUP` replaces every worker under load; only retired workers' clients reconnect; no ack times out", async () => {
    const before = await stats();
    const procBefore = await app();
    const clients = [...(await connectMany(url, 10, fast)), ...(await connectMany(url, 10, { ...WS_ONLY, ...fast }))];
    sockets.push(...clients);
    const where = new Map<Socket, string>();
    await Promise.all(clients.map(async (s) => where.set(s, (await whoami(s)).instance)));
    const disconnections: Array<{ instance: string; reason: string; at: number; transport?: string; detail?: string }> = [];
    for (const s of clients) {
      s.on("disconnect", (reason, description) =>
        disconnections.push({
          instance: where.get(s)!,
          reason,
          at: Date.now(),
          transport: s.io.engine?.transport?.name,
          detail: description instanceof Error ? description.message : JSON.stringify(description),
        }),
      );
      s.on("connect", () => void whoami(s).then((info) => where.set(s, info.instance), () => undefined));
    }
    // load: every client sends an acked echo every 50 ms during the restart
    let running = true;
    let acked = 0;
    let sent = 0;
    const failures: string[] = [];
    const load = clients.map(async (s, i) => {
      for (let n = 0; running; n++) {
        sent++;
        try {
          const answer = await s.timeout(30_000).emitWithAck("echo", `${i}:${n}`);
          if (answer !== `${i}:${n}`) failures.push(`wrong answer ${String(answer)}`);
          else acked++;
        } catch (err) {
          failures.push((err as Error).message);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      const signal = await pm2.run(["sendSignal", "SIGHUP", APP], { npx: true });
      expect(signal.code, signal.stdout + signal.stderr).toBe(0);
      const done = await pm2.waitForLog((r) => r.event === "rolling-restart-done" && (r.time as number) >= started - 1000, 30_000);
      await new Promise((r) => setTimeout(r, 300));
      running = false;
      await Promise.all(load);

      // no request timed out or went wrong; one in flight when its worker retired is rejected by
      // the client ("socket has been disconnected"), at most one per disconnection
      expect(failures.filter((f) => f !== "socket has been disconnected")).toEqual([]);
      expect(failures.length).toBeLessThanOrEqual(disconnections.length);
      // every request got its answer or that rejection: none was lost
      expect(acked + failures.length).toBe(sent);
      expect(acked).toBeGreaterThan(0);

      // same primary, same pm2 process (no pm2 restart); every worker replaced
      const procAfter = await app();
      expect(procAfter).toMatchObject({ pid: procBefore.pid, status: "online", restarts: procBefore.restarts });
      const after = await stats();
      expect(after.primaryPid).toBe(before.primaryPid);
      expect(after.workers).toHaveLength(WORKERS);
      const oldPids = before.workers.map((w) => w.pid);
      for (const w of after.workers) expect(oldPids).not.toContain(w.pid);
      for (const pid of oldPids) expect(isGone(pid)).toBe(true);

      // every disconnection was a client of a worker being retired (after it started draining),
      // told to reconnect; clients of the other workers saw nothing
      const records = pm2.logs().filter((r) => r.pid === before.primaryPid || oldPids.includes(r.pid as number));
      const replaced = records.filter((r) => r.event === "worker-replaced" && (r.time as number) <= (done.time as number));
      const retired = new Set(before.workers.map((w) => `worker-${w.workerId}`));
      expect(replaced.map((r) => `worker-${r.old as number}`).filter((w) => retired.has(w))).toHaveLength(WORKERS);
      const drainStart = (instance: string): LogRecord | undefined =>
        records.find((r) => r.role === "worker" && `worker-${r.worker}` === instance && r.event === "shutdown");
      expect(disconnections.length).toBeGreaterThan(0);
      // A retiring worker closes its clients' connections: "transport close". Once in ~15 runs on
      // an overloaded machine one client saw "transport error" instead (likely the exiting
      // worker's TCP reset overtaking its close frame); it reconnects all the same. Never
      // "io server disconnect" (no automatic reconnection) nor "ping timeout" (a silent worker).
      const closes = disconnections.filter((d) => d.reason === "transport close");
      expect(closes.length, JSON.stringify(disconnections)).toBeGreaterThan(disconnections.length / 2);
      for (const d of disconnections) {
        const drainAt = drainStart(d.instance)?.time as number | undefined;
        expect(["transport close", "transport error"], JSON.stringify({ ...d, afterDrainMs: drainAt === undefined ? null : d.at - drainAt })).toContain(d.reason);
        expect(retired.has(d.instance), `${d.instance} was retired`).toBe(true);
        expect(d.at).toBeGreaterThanOrEqual(drainStart(d.instance)!.time as number);
      }
      console.log(
        `pm2 SIGHUP rolling restart: ${JSON.stringify({
          durationMs: (done.time as number) - started,
          clients: clients.length,
          disconnections: disconnections.length,
          acked,
          rejectedInFlight: failures.length,
        })}`,
      );
      // everyone is connected again and answers
      await Promise.all(clients.map((s) => s.timeout(30_000).emitWithAck("echo", "after")));
    } finally {
      running = false;
      closeAll(clients);
    }
  });

  it("`pm2 delete` then `pm2 kill`: the primary drains and exits 0, no process of ours is left", async () => {
    const view = await stats();
    const daemon = pm2.daemonPid();
    expect(daemon).toBeTruthy();
    const deleted = await pm2.run(["delete", APP], { timeoutMs: 30_000 });
    expect(deleted.code, deleted.stdout + deleted.stderr).toBe(0);
    const killed = await pm2.run(["kill"], { timeoutMs: 30_000 });
    expect(killed.code, killed.stdout + killed.stderr).toBe(0);

    const exit = pm2.logs().find((r) => r.pid === view.primaryPid && r.event === "exit" && r.role === "primary");
    expect(exit).toMatchObject({ code: 0 });
    await eventually(() => [...pids, daemon!].every(isGone), 30_000, "every process gone");
    for (const pid of [...pids, daemon!]) expect(isGone(pid), `pid ${pid}`).toBe(true);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it("the process file builds dist/ only when it is missing or older than a source", () => {
    const load = () =>
      spawnSync(process.execPath, ["-e", "require('./ecosystem.config.js')"], { cwd: pm2.project, encoding: "utf8", timeout: 60_000 });
    const fresh = load();
    expect(fresh.status, fresh.stderr).toBe(0);
    expect(fresh.stderr).not.toContain("building dist/");
    const future = new Date(Date.now() + 5000);
    utimesSync(path.join(pm2.project, "src", "main.ts"), future, future);
    const stale = load();
    expect(stale.status, stale.stderr).toBe(0);
    expect(stale.stderr).toContain("building dist/");
  });
});
