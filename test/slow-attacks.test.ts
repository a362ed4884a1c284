import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "./helpers/clients";
import { gcHookNodeOptions, mb, memory, settledMemory } from "./helpers/fuzz/memory";
import { httpRequest } from "./helpers/fuzz/net";
import { PollingTarget } from "./helpers/fuzz/polling-target";
import { idleConnections, slowClient, type SlowResult } from "./helpers/fuzz/slow-client";
import { WellBehavedClients } from "./helpers/fuzz/well-behaved";
import { startServer, type RunningServer } from "./helpers/server";
import { ENGINES } from "./helpers/engines";

const PING_INTERVAL = 3000;
const PING_TIMEOUT = 3000;
/**
 * Slack on every bound: uWS checks its timeouts every 4 s, and a busy machine delays timers and
 * the test's own view of the close. Generous on purpose: a bound says the server closes what it
 * must close (never "much later"), not how fast; the measured times are printed.
 */
const SLACK_MS = 10_000;
/**
 * The bounds asserted (ms from connect to the server's close):
 * - request headers: uWS's HTTP idle timeout (10 s, not reset by header bytes); the Node engine's
 *   primary (HEADERS_TIMEOUT_MS, 10 s, a deadline for the whole head) and worker (headersTimeout 10 s);
 * - a request body: uWS (10 s unless the body arrives at 16 KB/s or more); the Node engine's worker
 *   (requestTimeout 30 s for the whole request);
 * - idle connections: as request headers;
 * - a session that never polls or never answers pings: PING_INTERVAL + PING_TIMEOUT.
 */
const HEADERS_BOUND_MS = 10_000 + SLACK_MS;
const BODY_BOUND_MS = { uws: 10_000 + SLACK_MS, node: 30_000 + SLACK_MS } as const;
const HEARTBEAT_BOUND_MS = PING_INTERVAL + PING_TIMEOUT + SLACK_MS;
const IDLE_CONNECTIONS = 3000;
/** Extra memory (workers and primary, RSS after GC) the idle connections may leave behind once closed. */
const IDLE_RSS_TOLERANCE = 30 * 1024 * 1024;


const closeTimes = (results: SlowResult[]) => results.map((r) => r.closedAfterMs ?? Infinity);
const summary = (times: number[]) => `max ${Math.max(...times)} ms, min ${Math.min(...times)} ms`;

describe.each(ENGINES)("slow attacks, ENGINE=%s, 2 workers", (engine) => {
  let server: RunningServer;
  let clients: WellBehavedClients;

  beforeAll(async () => {
    server = await startServer({
      workers: 2,
      engine,
      env: { PING_INTERVAL: String(PING_INTERVAL), PING_TIMEOUT: String(PING_TIMEOUT), NODE_OPTIONS: gcHookNodeOptions() },
    });
    // well-behaved clients keep exchanging messages during every attack (checked at the end)
    clients = await WellBehavedClients.connect(server.url, 2);
    clients.start(100, 250);
  });
  afterAll(async () => {
    await clients?.stop();
    clients?.close();
    expect(await server.stop()).toBe(0);
  });

  it("slowloris: headers dribbled a byte at a time are cut off within the headers bound", { timeout: 60_000 }, async () => {
    const attack = (prefix: string) =>
      slowClient({ port: server.port, prefix, dribble: "X-Slow: aaaaaaaaaaaaaaaa\r\n", intervalMs: 300, giveUpMs: HEADERS_BOUND_MS + 5000 });
    const results = await Promise.all([
      // a new connection's first request
      ...Array.from({ length: 10 }, () => attack("GET /healthz HTTP/1.1\r\nHost: x\r\n")),
      ...Array.from({ length: 10 }, () => attack("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n")),
      // the second request of a keep-alive connection
      ...Array.from({ length: 10 }, () => attack("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\n")),
    ]);
    const times = closeTimes(results);
    console.log(`SLOW ${engine} slowloris: ${results.length} connections closed by the server, ${summary(times)} (bound ${HEADERS_BOUND_MS} ms); answers: ${[...new Set(results.map((r) => r.answer.split("\r\n")[0] || "(none)"))].join(" | ")}`);
    expect(times.every((t) => t <= HEADERS_BOUND_MS)).toBe(true);
    expect((await httpRequest(server.port, { method: "GET", path: "/healthz" })).status).toBe(200);
  });

  it("a request body sent a byte at a time is cut off within the body bound", { timeout: 90_000 }, async () => {
    const sids = await Promise.all(Array.from({ length: 5 }, () => new PollingTarget(server.port).session()));
    expect(sids.every(Boolean)).toBe(true);
    const otherWorker = `${Math.max(...server.logs.filter((r) => r.event === "worker-start").map((r) => r.worker as number)).toString(36)}.AAAAAAAAAAAAAAAAAAAA`;
    const post = (path: string) =>
      `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 5000\r\n\r\n42[`;
    const bound = BODY_BOUND_MS[engine];
    const attack = (path: string) => slowClient({ port: server.port, prefix: post(path), dribble: "1,", intervalMs: 200, giveUpMs: bound + 5000 });
    const results = await Promise.all([
      // to live sessions (engine.io reads the body)
      ...sids.map((sid) => attack(`/socket.io/?EIO=4&transport=polling&sid=${sid}`)),
      // to a session of another (or no) worker (uWS: the sticky router captures the body to forward it)
      ...Array.from({ length: 5 }, () => attack(`/socket.io/?EIO=4&transport=polling&sid=${otherWorker}`)),
      // to a runtime route
      ...Array.from({ length: 5 }, () => attack("/healthz")),
    ]);
    const times = closeTimes(results);
    console.log(`SLOW ${engine} slow body: ${results.length} connections closed by the server, ${summary(times)} (bound ${bound} ms); bytes written at most ${Math.max(...results.map((r) => r.written))}; answers: ${[...new Set(results.map((r) => r.answer.split("\r\n")[0] || "(none)"))].join(" | ")}`);
    expect(times.every((t) => t <= bound)).toBe(true);
  });

  it(`${IDLE_CONNECTIONS} idle and half-closed TCP connections are closed within the bound and cost bounded memory`, { timeout: 90_000 }, async () => {
    const before = await settledMemory(server);
    const { sockets, closed } = await idleConnections(server.port, IDLE_CONNECTIONS, IDLE_CONNECTIONS / 10, HEADERS_BOUND_MS + 5000);
    const during = await memory(server);
    // the server still serves while they are open
    expect((await httpRequest(server.port, { method: "GET", path: "/healthz" })).status).toBe(200);
    const times = (await Promise.all(closed)).map((t) => t ?? Infinity);
    for (const socket of sockets) socket.destroy();
    const after = await settledMemory(server);
    const total = (m: typeof before) => m.workerRss + m.primaryRss;
    const perConnection = Math.round((total(during) - total(before)) / IDLE_CONNECTIONS);
    console.log(
      `SLOW ${engine} idle: ${IDLE_CONNECTIONS} connections (${IDLE_CONNECTIONS / 10} half-closed) closed by the server, ${summary(times)} (bound ${HEADERS_BOUND_MS} ms); ` +
        `RSS (workers + primary) before ${mb(total(before))} MB, while open ${mb(total(during))} MB (${perConnection} B per connection, before GC), after ${mb(total(after))} MB`,
    );
    expect(times.every((t) => t <= HEADERS_BOUND_MS)).toBe(true);
    expect(total(after) - total(before)).toBeLessThan(IDLE_RSS_TOLERANCE);
  });

  it("sessions that never poll, and WebSockets that never answer pings, are closed by the heartbeat", { timeout: 60_000 }, async () => {
    const sessions = async () => (await server.stats()).workers.reduce((sum, w) => sum + w.sessions, 0);
    const baseline = await sessions();
    const started = Date.now();
    // handshake only, or handshake and a Socket.IO CONNECT; then never a poll
    const handshakes = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        if (i % 2 === 0) {
          const answer = await httpRequest(server.port, { method: "GET", path: "/socket.io/?EIO=4&transport=polling" });
          return /"sid":"([^"]+)"/.exec(answer.body)?.[1];
        }
        return new PollingTarget(server.port).session();
      }),
    );
    expect(handshakes.every(Boolean)).toBe(true);
    // WebSockets that connect to `/` and then ignore the server's pings
    const deaf = await Promise.all(
      Array.from({ length: 20 }, () => {
        const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
        ws.on("error", () => undefined);
        ws.on("message", (data: Buffer) => {
          if (data.toString().startsWith("0{")) ws.send("40");
        });
        return new Promise<number>((resolve) => ws.once("close", () => resolve(Date.now() - started)));
      }),
    );
    const wsTimes = await Promise.all(deaf);
    expect(Math.max(...wsTimes)).toBeLessThanOrEqual(HEARTBEAT_BOUND_MS);
    let open = Infinity;
    const poll = setInterval(() => void sessions().then((n) => (open = n), () => undefined), 200);
    await eventually(() => open <= baseline, HEARTBEAT_BOUND_MS, "abandoned sessions to close").finally(() => clearInterval(poll));
    const pollingClosedAfter = Date.now() - started;
    // each is gone: its id is unknown now
    const answers = await Promise.all(handshakes.map((sid) => httpRequest(server.port, { method: "GET", path: `/socket.io/?EIO=4&transport=polling&sid=${sid}` })));
    console.log(`SLOW ${engine} heartbeat: 40 never-polled sessions gone after ${pollingClosedAfter} ms, 20 deaf WebSockets closed after ${summary(wsTimes)} (bound ${HEARTBEAT_BOUND_MS} ms)`);
    expect(answers.map((a) => a.status)).toEqual(handshakes.map(() => 400));
    expect(pollingClosedAfter).toBeLessThanOrEqual(HEARTBEAT_BOUND_MS + 1000);
  });

  it("well-behaved clients kept every message through the attacks", { timeout: 60_000 }, async () => {
    await clients.stop();
    const problems = await clients.verify();
    const totals = clients.totals();
    console.log(`SLOW ${engine} well-behaved: ${totals.clients} clients, ${totals.echoes} echoes acked, ${totals.broadcastsDelivered} broadcast deliveries, problems ${problems.length}`);
    expect(problems).toEqual([]);
    expect(server.logs.filter((r) => r.event === "worker-exit")).toEqual([]);
  });
});
