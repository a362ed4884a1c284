import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Socket } from "socket.io-client";
import { closeAll, connectMany, eventually, record, upgraded, WS_ONLY } from "./helpers/clients";
import { runMain } from "./helpers/process";
import { parseExposition, select, total, type Exposition } from "./helpers/prometheus";
import { ROOT, startServer, type RunningServer } from "./helpers/server";
import { ENGINES } from "./helpers/engines";

async function scrape(server: RunningServer): Promise<{ status: number; contentType: string; text: string }> {
  const response = await fetch(`${server.adminUrl}/metrics`);
  return { status: response.status, contentType: response.headers.get("content-type") ?? "", text: await response.text() };
}

async function metrics(server: RunningServer): Promise<Exposition> {
  const { status, text } = await scrape(server);
  expect(status).toBe(200);
  return parseExposition(text);
}

/** Scrapes until `condition` holds (counters move a little after the clients see the effect). */
async function metricsWhen(server: RunningServer, condition: (m: Exposition) => boolean, what: string): Promise<Exposition> {
  let last: Exposition | undefined;
  const deadline = Date.now() + 30_000;
  for (;;) {
    last = await metrics(server);
    if (condition(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `worker` label values of the live processes, from `runtime_process_info`. */
function processes(m: Exposition): Map<string, string> {
  return new Map(select(m, "runtime_process_info").map((s) => [s.labels.worker!, s.labels.pid!]));
}

describe.each(ENGINES)("GET /metrics, ENGINE=%s, 2 workers", (engine) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ workers: 2, engine });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it("is a valid Prometheus exposition with RSS and event-loop lag of the primary and every worker", async () => {
    const { status, contentType, text } = await scrape(server);
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parseExposition(text);
    const pids = processes(m);
    expect([...pids.keys()].sort()).toEqual(["1", "2", "primary"]);
    expect(pids.get("primary")).toBe(String(server.child.pid));
    expect([...pids.entries()].filter(([w]) => w !== "primary").map(([, pid]) => Number(pid)).sort()).toEqual(
      server.workerPids().sort(),
    );
    for (const worker of pids.keys()) {
      const [rss] = select(m, "process_resident_memory_bytes", { worker });
      expect(rss?.value, `RSS of ${worker}`).toBeGreaterThan(10_000_000);
      expect(select(m, "nodejs_eventloop_lag_seconds", { worker }), `lag of ${worker}`).toHaveLength(1);
      expect(select(m, "nodejs_eventloop_lag_p99_seconds", { worker })).toHaveLength(1);
    }
    expect(m.types.get("runtime_worker_restarts_total")).toBe("counter");
    expect(select(m, "runtime_worker_restarts_total")).toEqual([
      { name: "runtime_worker_restarts_total", labels: { worker: "primary" }, value: 0 },
    ]);
    expect(total(m, "runtime_workers")).toBe(2);
    expect(total(m, "runtime_metrics_missing_workers")).toBe(0);
    // every series says which process it comes from
    expect(m.samples.every((s) => typeof s.labels.worker === "string")).toBe(true);
  });

  it("counts clients per namespace and transport, connections, events in and broadcasts, over both workers", async () => {
    const before = await metrics(server);
    let sockets: Socket[] = [];
    try {
      const defaults = await connectMany(server.url, 20);
      const wsOnly = await connectMany(server.url, 10, WS_ONLY);
      sockets = [...defaults, ...wsOnly];
      await Promise.all(defaults.map((s) => upgraded(s)));
      const received = sockets.map((s) => record(s, "broadcast"));
      for (const socket of sockets) {
        for (let i = 0; i < 3; i++) await socket.timeout(30_000).emitWithAck("echo", i);
      }
      sockets[0]!.emit("shout", { to: "all", payload: "hello" });
      sockets[25]!.emit("shout", { to: "others", payload: "hello" });
      await eventually(() => received.every((r, i) => r.length === (i === 25 ? 1 : 2)), 30_000, "broadcasts");

      const delta = (m: Exposition, name: string) =>
        total(m, name, { namespace: "/" }) - total(before, name, { namespace: "/" });
      const m = await metricsWhen(server, (x) => delta(x, "socketio_events_received_total") >= 92, "events");
      const connected = select(m, "socketio_connected_clients", { namespace: "/" });
      // series for both workers and both transports
      expect(new Set(connected.map((s) => `${s.labels.worker}/${s.labels.transport}`))).toEqual(
        new Set(["1/polling", "1/websocket", "2/polling", "2/websocket"]),
      );
      expect(total(m, "socketio_connected_clients", { namespace: "/" })).toBe(30);
      expect(total(m, "socketio_connected_clients", { namespace: "/", transport: "websocket" })).toBe(30);
      expect(delta(m, "socketio_connections_total")).toBe(30);
      // 3 echoes per client, 2 shouts
      expect(delta(m, "socketio_events_received_total")).toBe(92);
      // a broadcast counts once, on the worker where it started, whatever the number of recipients
      expect(delta(m, "socketio_broadcasts_total")).toBe(2);
      expect(delta(m, "socketio_disconnections_total")).toBe(0);
      expect(total(m, "runtime_engine_sessions")).toBeGreaterThanOrEqual(30);
    } finally {
      closeAll(sockets);
    }
    const after = await metricsWhen(
      server,
      (m) => total(m, "socketio_connected_clients", { namespace: "/" }) === 0,
      "disconnections",
    );
    expect(total(after, "socketio_disconnections_total", { namespace: "/" }) - total(before, "socketio_disconnections_total", { namespace: "/" })).toBe(30);
  });

  it("has the router's counters for every worker, equal to /stats", async () => {
    const sockets = await connectMany(server.url, 20);
    try {
      await Promise.all(sockets.map((s) => upgraded(s)));
      const m = await metrics(server);
      const stats = await server.stats();
      const names = {
        runtime_forwarded_requests_total: "forwardedRequests",
        runtime_relayed_frames_total: "relayedFrames",
        runtime_takeovers_total: "takeovers",
        runtime_handovers_total: "handovers",
        runtime_takeovers_refused_total: "takeoversRefused",
        runtime_relayed_upgrades_total: "relayedUpgrades",
        runtime_overlapping_polls_across_hop_total: "overlappingPollsAcrossHop",
        runtime_cancelled_forwarded_polls_total: "cancelledForwardedPolls",
        runtime_polls_past_ping_deadline_total: "pollsPastPingDeadline",
      } as const;
      for (const [metric, field] of Object.entries(names)) {
        expect(m.types.get(metric)).toBe("counter");
        for (const worker of stats.workers) {
          const series = select(m, metric, { worker: String(worker.workerId) });
          expect(series, `${metric} of worker ${worker.workerId}`).toHaveLength(1);
          expect(series[0]!.value).toBe(worker[field]);
        }
      }
      // uWS: default clients whose WebSocket reaches the other worker are taken over
      if (engine === "uws") expect(total(m, "runtime_takeovers_total")).toBeGreaterThan(0);
    } finally {
      closeAll(sockets);
    }
  });

  it("counts recoveries: as many as the clients that see socket.recovered after a cut", async () => {
    const before = await metrics(server);
    const sockets = await connectMany(server.url, 10, { ...WS_ONLY, reconnection: true, reconnectionDelay: 100 });
    try {
      const got = sockets.map((s) => record(s, "broadcast"));
      sockets[0]!.emit("shout", { to: "all", payload: "offset" });
      await eventually(() => got.every((g) => g.length === 1), 30_000, "a broadcast");
      // cut every connection; the clients reconnect (to any worker) and ask to recover
      const reconnected = sockets.map((s) => new Promise<void>((resolve) => s.once("connect", () => resolve())));
      for (const socket of sockets) socket.io.engine.close();
      await Promise.all(reconnected);
      const recovered = sockets.filter((s) => s.recovered).length;
      const delta = (m: Exposition, name: string) =>
        total(m, name, { namespace: "/" }) - total(before, name, { namespace: "/" });
      const m = await metricsWhen(server, (x) => delta(x, "socketio_connections_total") >= 20, "reconnections");
      expect(delta(m, "socketio_connections_total")).toBe(20);
      expect(delta(m, "socketio_recoveries_total")).toBe(recovered);
    } finally {
      closeAll(sockets);
    }
  });

  it("counts a worker restart after SIGKILL, and lists the replacement instead of the dead worker", async () => {
    const victim = server.workerPids()[0]!;
    process.kill(victim, "SIGKILL");
    await server.waitForLog((r) => r.event === "listen" && r.role === "worker" && r.worker === 3, 20_000);
    const m = await metricsWhen(server, (x) => processes(x).has("3"), "the replacement's metrics");
    expect(total(m, "runtime_worker_restarts_total")).toBe(1);
    const pids = processes(m);
    expect(pids.size).toBe(3);
    expect([...pids.values()]).not.toContain(String(victim));
    for (const worker of pids.keys()) expect(select(m, "process_resident_memory_bytes", { worker })).toHaveLength(1);
  });
});

describe("an application's own prom-client metrics", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      workers: 2,
      env: { APP_MODULE: path.join(ROOT, "test", "fixtures", "metrics-app.js") },
    });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it("are in /metrics per worker, and one clashing with a runtime metric is left out", async () => {
    const sockets = await connectMany(server.url, 10, WS_ONLY);
    try {
      for (const socket of sockets) await socket.timeout(30_000).emitWithAck("greet");
      const m = await metrics(server);
      expect(m.types.get("app_greetings_total")).toBe("counter");
      expect(new Set(select(m, "app_greetings_total").map((s) => s.labels.worker))).toEqual(new Set(["1", "2"]));
      expect(total(m, "app_greetings_total")).toBe(10);
      expect(total(m, "socketio_connections_total", { namespace: "/" })).toBe(10);
      expect(select(m, "socketio_connections_total").every((s) => s.labels.namespace !== undefined)).toBe(true);
    } finally {
      closeAll(sockets);
    }
  });
});

describe("METRICS=off", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ workers: 1, env: { METRICS: "off" } });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it("has no /metrics route", async () => {
    expect((await scrape(server)).status).toBe(404);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});

describe("metrics configuration", () => {
  it("METRICS other than on/off stops the process with one line", async () => {
    const exit = await runMain({ METRICS: "yes", PORT: "1" });
    expect(exit.code).toBe(1);
    expect(exit.stderr.trim()).toBe('invalid configuration: METRICS="yes" (allowed: on or off)');
  });
});
