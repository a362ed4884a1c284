import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { io, type Socket } from "socket.io-client";
import { closeAll, connect, eventually } from "./helpers/clients";
import { runMain } from "./helpers/process";
import { parseExposition, total } from "./helpers/prometheus";
import { startServer, type RunningServer } from "./helpers/server";
import { ENGINES } from "./helpers/engines";

const PASSWORD = "s3cret-admin-pass";
/** bcrypt hash of "changeit" (from @socket.io/admin-ui's README). */
const CHANGEIT_HASH = "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS";

interface ServerStats {
  serverId: string;
  pid: number;
  namespaces: Array<{ name: string; socketsCount: number }>;
}

/**
 * Connects to `/admin` like the UI does, with its listeners in place before the handshake (the
 * server sends `session` and `config` before the client sees `connect`).
 */
async function adminConnect(
  url: string,
  auth: Record<string, string>,
): Promise<{ socket: Socket; session: Promise<string>; stats: Map<string, ServerStats> }> {
  const socket = io(`${url}/admin`, { forceNew: true, reconnection: false, auth });
  const session = new Promise<string>((resolve) => socket.once("session", resolve));
  const stats = new Map<string, ServerStats>();
  socket.on("server_stats", (s: ServerStats) => stats.set(s.serverId, s));
  const config = new Promise<{ supportedFeatures: string[] }>((resolve) => socket.once("config", resolve));
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("connect_error", (err) => {
      socket.close();
      reject(err);
    });
  });
  expect((await config).supportedFeatures.length).toBeGreaterThan(0);
  return { socket, session, stats };
}

async function get(url: string): Promise<{ status: number; type: string; location: string; body: string }> {
  const response = await fetch(url, { redirect: "manual" });
  return {
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    location: response.headers.get("location") ?? "",
    body: await response.text(),
  };
}

describe.each(ENGINES)("admin UI with ADMIN_UI_PASSWORD, ENGINE=%s, 2 workers", (engine) => {
  let server: RunningServer;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    server = await startServer({ workers: 2, engine, env: { ADMIN_UI_PASSWORD: PASSWORD } });
  });
  afterAll(async () => {
    closeAll(sockets);
    expect(await server.stop()).toBe(0);
  });

  it("refuses /admin without credentials or with a wrong password", async () => {
    for (let i = 0; i < 4; i++) {
      await expect(connect(`${server.url}/admin`)).rejects.toThrow("invalid credentials");
      await expect(
        connect(`${server.url}/admin`, { auth: { username: "admin", password: "wrong-password" } }),
      ).rejects.toThrow("invalid credentials");
      await expect(
        connect(`${server.url}/admin`, { auth: { username: "root", password: PASSWORD } }),
      ).rejects.toThrow("invalid credentials");
    }
  });

  it("accepts the right credentials and shows every worker", async () => {
    const { socket, session, stats } = await adminConnect(server.url, { username: "admin", password: PASSWORD });
    sockets.push(socket);
    expect(await session).toMatch(/^[0-9a-f]{16}$/);
    // every worker reports (every 2 s) through the cluster adapter, whichever worker serves the UI
    await eventually(() => stats.size === 2, 30_000, "stats of both workers");
    const ids = [...stats.keys()].sort();
    expect(ids[0]).toMatch(/#worker-1$/);
    expect(ids[1]).toMatch(/#worker-2$/);
    expect(new Set([...stats.values()].map((s) => s.pid))).toEqual(new Set(server.workerPids()));
    for (const s of stats.values()) expect(s.namespaces.map((n) => n.name)).toContain("/admin");
  });

  it("takes the session id alone on every worker", async () => {
    const first = await adminConnect(server.url, { username: "admin", password: PASSWORD });
    sockets.push(first.socket);
    const sessionId = await first.session;
    // a page reload reconnects with the session id only, and may reach any worker
    const again = await Promise.all(Array.from({ length: 8 }, () => connect(`${server.url}/admin`, { auth: { sessionId } })));
    sockets.push(...again);
    expect(again.every((s) => s.connected)).toBe(true);
    await expect(connect(`${server.url}/admin`, { auth: { sessionId: "0123456789abcdef" } })).rejects.toThrow(
      "invalid credentials",
    );
  });

  it("serves the UI's files under /admin-ui/", async () => {
    const index = await get(`${server.adminUrl}/admin-ui/`);
    expect(index.status).toBe(200);
    expect(index.type).toMatch(/text\/html/);
    expect(index.body).toContain("Socket.IO Admin UI");
    const script = /src="(js\/app\.[0-9a-f]+\.js)"/.exec(index.body)?.[1];
    expect(script).toBeTruthy();
    const app = await get(`${server.adminUrl}/admin-ui/${script}`);
    expect(app.status).toBe(200);
    expect(app.type).toMatch(/javascript/);
    const bare = await get(`${server.adminUrl}/admin-ui`);
    expect(bare.status).toBe(308);
    expect(bare.location).toBe("/admin-ui/");
    expect((await get(`${server.adminUrl}/admin-ui/../package.json`)).status).toBe(404);
    expect((await get(`${server.adminUrl}/admin-ui/%2e%2e/package.json`)).status).toBe(404);
  });

  it("counts the admin namespace in /metrics like any other", async () => {
    const text = await (await fetch(`${server.adminUrl}/metrics`)).text();
    const m = parseExposition(text);
    const connected = sockets.filter((s) => s.connected).length;
    expect(total(m, "socketio_connected_clients", { namespace: "/admin" })).toBe(connected);
    expect(total(m, "socketio_connections_total", { namespace: "/admin" })).toBe(connected);
    // the UI's server emits "config" to each admin socket, and "session" to those that logged in
    expect(total(m, "socketio_events_sent_total", { namespace: "/admin" })).toBeGreaterThanOrEqual(connected);
    // each worker's periodic stats are broadcasts
    expect(total(m, "socketio_broadcasts_total", { namespace: "/admin" })).toBeGreaterThanOrEqual(2);
  });
});

describe("admin UI without ADMIN_UI_PASSWORD", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ workers: 2 });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it("/admin is an invalid namespace and /admin-ui/ does not exist", async () => {
    await expect(connect(`${server.url}/admin`)).rejects.toThrow("Invalid namespace");
    await expect(connect(`${server.url}/admin`, { auth: { username: "admin", password: PASSWORD } })).rejects.toThrow(
      "Invalid namespace",
    );
    expect((await get(`${server.adminUrl}/admin-ui/`)).status).toBe(404);
    expect((await get(`${server.adminUrl}/admin-ui`)).status).toBe(404);
  });
});

describe("admin UI with a bcrypt hash as ADMIN_UI_PASSWORD", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ workers: 1, env: { ADMIN_UI_PASSWORD: CHANGEIT_HASH } });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it("takes the password the hash was made from", async () => {
    const socket = await connect(`${server.url}/admin`, { auth: { username: "admin", password: "changeit" } });
    socket.close();
    await expect(connect(`${server.url}/admin`, { auth: { username: "admin", password: CHANGEIT_HASH } })).rejects.toThrow(
      "invalid credentials",
    );
  });
});

describe("admin UI configuration", () => {
  it("a password shorter than 8 characters stops the process with one line that does not show it", async () => {
    const exit = await runMain({ ADMIN_UI_PASSWORD: "short", PORT: "1" });
    expect(exit.code).toBe(1);
    expect(exit.stderr.trim()).toBe(
      "invalid configuration: ADMIN_UI_PASSWORD=(hidden) (allowed: 8 characters to 72 bytes, or a bcrypt hash)",
    );
    expect(exit.stderr + exit.stdout).not.toContain("short");
  });
});
