import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "./helpers/server";
import { ENGINES } from "./helpers/engines";

/** One raw HTTP/1.1 request with the given headers; resolves status, headers and body. */
function request(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: options.headers, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe.each(ENGINES)("HTTP routes of every worker, ENGINE=%s", (engine) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ workers: 2, engine });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it("GET /healthz and /readyz answer 200", async () => {
    for (let i = 0; i < 6; i++) {
      expect((await request(server.port, "/healthz")).status).toBe(200);
      expect((await request(server.port, "/readyz")).status).toBe(200);
    }
  });

  it.each(["socket.io.js", "socket.io.min.js", "socket.io.js.map", "socket.io.min.js.map", "socket.io.esm.min.js"])(
    "serves the official client /socket.io/%s",
    async (file) => {
      const res = await request(server.port, `/socket.io/${file}`);
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toMatch(file.endsWith(".map") ? /json/ : /javascript/);
      if (!file.endsWith(".map")) expect(res.body).toContain("io");
      expect(res.headers.etag).toBeTruthy();
      const again = await request(server.port, `/socket.io/${file}`, { headers: { "if-none-match": res.headers.etag! } });
      expect(again.status).toBe(304);
    },
  );

  it("serves public/index.html at / and the file itself", async () => {
    const root = await request(server.port, "/");
    expect(root.status).toBe(200);
    expect(root.headers["content-type"]).toMatch(/text\/html/);
    expect(root.body).toMatch(/<html|<!doctype/i);
    expect((await request(server.port, "/index.html")).body).toBe(root.body);
  });

  it.each(["/nope", "/%2e%2e/package.json", "/..%2fpackage.json", "/.git/config", "/../package.json"])(
    "answers 404 for %s",
    async (path) => {
      expect((await request(server.port, path)).status).toBe(404);
    },
  );

  it("refuses an unknown file under /socket.io/ (404, or engine.io's 400 on the Node engine)", async () => {
    const res = await request(server.port, "/socket.io/nope.js");
    expect(res.status).toBe(engine === "uws" ? 404 : 400);
  });

  it("GET /stats on the admin port lists every worker", async () => {
    const stats = await server.stats();
    expect(stats.workers).toHaveLength(2);
    expect(stats.workers.every((w) => w.engine === engine)).toBe(true);
  });

  it("the clients' port has no internals: /stats, /metrics and /admin-ui/ are on the admin port only", async () => {
    for (const path of ["/stats", "/metrics", "/admin-ui/"]) expect((await request(server.port, path)).status, path).toBe(404);
    expect((await request(server.port, "/healthz")).status).toBe(200);
    expect((await request(server.port, "/readyz")).status).toBe(200);
    const admin = Number(new URL(server.adminUrl).port);
    expect((await request(admin, "/stats")).status).toBe(200);
    expect((await request(admin, "/metrics")).status).toBe(200);
    expect((await request(admin, "/healthz")).status).toBe(200);
    // and the admin listener is bound to this machine only
    expect(server.logs.find((r) => r.event === "admin-listen")).toMatchObject({ host: "127.0.0.1", port: admin });
  });

  it("scrapes at any rate cost the workers one collection a second at most", async () => {
    const admin = Number(new URL(server.adminUrl).port);
    const collections = (text: string) => Number(/^runtime_metrics_collections_total\{[^}]*\} (\d+)$/m.exec(text)?.[1]);
    const started = Date.now();
    const first = collections((await request(admin, "/metrics")).body);
    const answers = await Promise.all(Array.from({ length: 200 }, () => request(admin, "/metrics")));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const last = Math.max(...answers.map((a) => collections(a.body)));
    const seconds = (Date.now() - started) / 1000;
    console.log(`201 scrapes in ${seconds.toFixed(1)} s: ${last - first + 1} collections`);
    // one collection answers every scrape of its second (plus the one in flight at each end)
    expect(last - first).toBeLessThanOrEqual(Math.ceil(seconds) + 1);
  });

  it("a request with Connection: close is answered with Connection: close", async () => {
    const res = await request(server.port, "/healthz", { headers: { connection: "close" } });
    expect(res.status).toBe(200);
    expect(res.headers.connection).toBe("close");
    const poll = await request(server.port, "/socket.io/?EIO=4&transport=polling", { headers: { connection: "close" } });
    expect(poll.status).toBe(200);
    expect(poll.headers.connection).toBe("close");
  });

  it("a page asked for on a kept-alive connection: the Node engine closes it, since its primary routed it by that first request", async () => {
    // a browser sends its next requests on it, such as the polls of a session another worker owns
    const page = await request(server.port, "/", { headers: { connection: "keep-alive" } });
    expect(page.status).toBe(200);
    if (engine === "node") expect(page.headers.connection).toBe("close");
    else expect(page.headers.connection).not.toBe("close");
  });
});

describe.each(ENGINES)("overlapping polls of one session, ENGINE=%s", (engine) => {
  let server: RunningServer;
  beforeAll(async () => {
    // one worker: no forwarding hop between the two polls (see test/conformance.test.ts for that case)
    server = await startServer({ workers: 1, engine });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it("a second poll while one is pending gets 400 (the client's error, never a 500) and the session closes: the other poll gets the close packet", async () => {
    const open = await request(server.port, "/socket.io/?EIO=4&transport=polling");
    expect(open.status).toBe(200);
    const sid = (JSON.parse(open.body.slice(1)) as { sid: string }).sid;
    const poll = () => request(server.port, `/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`);
    // whichever the server sees first is the pending poll, the other the overlap
    const answers = await Promise.all([poll(), poll()]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 400]);
    expect(answers.find((a) => a.status === 200)!.body).toBe("1");
    // the session is gone
    expect((await poll()).status).toBe(400);
  });
});
