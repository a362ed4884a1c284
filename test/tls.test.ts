import { readFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import path from "node:path";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeAll, connect, eventually, record, upgraded, WS_ONLY, type ClientOptions } from "./helpers/clients";
import { runMain } from "./helpers/process";
import { ROOT, startServer, type RunningServer } from "./helpers/server";
import { ENGINES } from "./helpers/engines";

const TLS = path.join(ROOT, "test", "fixtures", "tls");
const CA = readFileSync(path.join(TLS, "cert.pem"));
const TLS_ENV = { SSL_KEY_FILE: path.join(TLS, "key.pem"), SSL_CERT_FILE: path.join(TLS, "cert.pem") };
const APP_MODULE = path.join(ROOT, "test", "fixtures", "tls-app.js");
/**
 * Client source addresses (all of 127/8 is loopback on Linux): with TLS the Node engine routes by
 * client address, so clients from one address would all reach one worker. These spread over 2 slots.
 */
const ADDRESSES = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"];

interface Secure {
  instance: string;
  secure: boolean;
  transport: string;
}

/** socket.io-client options for the test CA, from `localAddress` (polling through the agent, WebSocket both). */
function tlsOptions(localAddress: string, extra: ClientOptions = {}): ClientOptions {
  const agent = new https.Agent({ ca: CA, localAddress, keepAlive: true });
  return { ca: CA, agent, localAddress, ...extra } as ClientOptions;
}

function httpsGet(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: "127.0.0.1", port, path: urlPath, ca: CA, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.setTimeout(10_000, () => req.destroy(new Error("https request timed out")));
  });
}

/** Sends a plain HTTP request to `port`; resolves with what came back once the server closes the connection. */
function plainRequest(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    let answer = "";
    socket.setTimeout(10_000, () => socket.destroy(new Error("the server kept the plain connection open")));
    socket.on("connect", () => socket.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    socket.on("data", (chunk) => (answer += chunk.toString("latin1")));
    socket.on("error", (err) => ((err as NodeJS.ErrnoException).code === "ECONNRESET" ? resolve(answer) : reject(err)));
    socket.on("close", () => resolve(answer));
  });
}

const secureOf = (socket: Socket) => socket.timeout(30_000).emitWithAck("secure") as Promise<Secure>;

describe.each(ENGINES)("TLS (ENGINE=%s, WORKERS=2)", (engine) => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startServer({ engine, workers: 2, env: { ...TLS_ENV, APP_MODULE } });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it("default (polling → WebSocket) and WebSocket-only clients on both workers, secure, broadcasts across workers once", async () => {
    const url = `https://127.0.0.1:${server.port}`;
    const sockets = await Promise.all(
      ADDRESSES.flatMap((address) => [connect(url, tlsOptions(address)), connect(url, tlsOptions(address, WS_ONLY))]),
    );
    try {
      await Promise.all(sockets.map((socket) => upgraded(socket)));
      const seen = await Promise.all(sockets.map(secureOf));
      // on the uWS engine the kernel spreads connections (SO_REUSEPORT): all 12 on one worker is
      // about a 1 in 2,048 draw, so add WebSocket-only clients (at most 40) until both workers serve
      for (let extra = 0; new Set(seen.map((s) => s.instance)).size < 2 && extra < 40; extra++) {
        const socket = await connect(url, tlsOptions(ADDRESSES[extra % ADDRESSES.length]!, WS_ONLY));
        sockets.push(socket);
        seen.push(await secureOf(socket));
      }
      expect(seen.every((s) => s.secure && s.transport === "websocket")).toBe(true);
      const instances = [...new Set(seen.map((s) => s.instance))];
      expect(instances).toHaveLength(2);

      const received = sockets.map((socket) => record<[string, string]>(socket, "broadcast"));
      // one sender on each worker
      const senders = instances.map((instance) => sockets[seen.findIndex((s) => s.instance === instance)]!);
      await Promise.all(
        senders.map((sender, i) => sender.timeout(30_000).emitWithAck("shout", { to: "all", payload: `from-${i}` })),
      );
      await eventually(() => received.every((list) => list.length >= 2), 30_000, "both broadcasts everywhere");
      for (const list of received) expect(list.map(([payload]) => payload).sort()).toEqual(["from-0", "from-1"]);
    } finally {
      closeAll(sockets);
    }
  });

  it("serves the HTTP routes over HTTPS", async () => {
    expect(await httpsGet(server.port, "/healthz")).toMatchObject({ status: 200 });
    expect(await httpsGet(server.port, "/readyz")).toMatchObject({ status: 200 });
    const page = await httpsGet(server.port, "/");
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<html/i);
    expect((await httpsGet(server.port, "/socket.io/socket.io.min.js")).status).toBe(200);
  });

  it("refuses plain HTTP on the TLS port without harming a worker", async () => {
    const answers = await Promise.all(ADDRESSES.map(() => plainRequest(server.port)));
    for (const answer of answers) expect(answer).not.toMatch(/^HTTP\/1\.1 200/);
    // the workers are all still there and serve TLS clients
    expect(server.logs.filter((r) => r.event === "worker-exit")).toEqual([]);
    expect((await httpsGet(server.port, "/healthz")).status).toBe(200);
    const client = await connect(`https://127.0.0.1:${server.port}`, tlsOptions("127.0.0.2"));
    expect((await secureOf(client)).secure).toBe(true);
    client.close();
  });

  it("a client that does not trust the certificate is refused", async () => {
    await expect(connect(`https://127.0.0.1:${server.port}`, { ...WS_ONLY, timeout: 5000 })).rejects.toThrow();
  });
});

describe("TLS on the Node engine: routing by client address", () => {
  it("a rolling restart moves each address to its worker's replacement (WORKERS=2)", async () => {
    const server = await startServer({ engine: "node", workers: 2, env: { ...TLS_ENV, APP_MODULE } });
    const url = `https://127.0.0.1:${server.port}`;
    // 127.0.0.2 and 127.0.0.3 hash to different slots
    const where = async () => {
      const sockets = await Promise.all(["127.0.0.2", "127.0.0.3"].map((address) => connect(url, tlsOptions(address, WS_ONLY))));
      const instances = await Promise.all(sockets.map(async (socket) => (await secureOf(socket)).instance));
      closeAll(sockets);
      return instances;
    };
    try {
      const before = await where();
      expect(new Set(before).size).toBe(2);
      expect(await where()).toEqual(before);
      server.child.kill("SIGHUP");
      await server.waitForLog((r) => r.event === "rolling-restart-done", 60_000);
      const replaced = new Map(
        server.logs.filter((r) => r.event === "worker-replaced").map((r) => [`worker-${String(r.old)}`, `worker-${String(r.new)}`]),
      );
      expect(await where()).toEqual(before.map((instance) => replaced.get(instance)));
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe("TLS with an encrypted key", () => {
  it.each(ENGINES)("starts with SSL_PASSPHRASE and serves (ENGINE=%s)", async (engine) => {
    const server = await startServer({
      engine,
      workers: 2,
      env: { ...TLS_ENV, SSL_KEY_FILE: path.join(TLS, "key-encrypted.pem"), SSL_PASSPHRASE: "fixture-passphrase" },
    });
    try {
      expect((await httpsGet(server.port, "/healthz")).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe("SSL_CERT_FILE alone", () => {
  it.each(ENGINES)("is ignored (OpenSSL's CA-bundle variable): plain HTTP (ENGINE=%s)", async (engine) => {
    const server = await startServer({ engine, workers: 2, env: { SSL_KEY_FILE: "", SSL_CERT_FILE: path.join(TLS, "cert.pem") } });
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});

describe("TLS configuration errors exit 1 with one line", () => {
  const file = (name: string) => path.join(TLS, name);
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    // an empty variable counts as unset (this machine, like many, sets SSL_CERT_FILE to its CA bundle)
    ["only SSL_KEY_FILE", { SSL_KEY_FILE: file("key.pem"), SSL_CERT_FILE: "" }, /^invalid configuration: SSL_CERT_FILE is unset/],
    ["an unreadable key", { ...TLS_ENV, SSL_KEY_FILE: file("missing.pem") }, /^invalid configuration: SSL_KEY_FILE="[^"]*missing\.pem" \(allowed: a readable PEM file\)/],
    ["a key that is not PEM", { ...TLS_ENV, SSL_KEY_FILE: file("README.md") }, /^invalid configuration: SSL_KEY_FILE="[^"]*README\.md" \(allowed: a PEM private key/],
    ["a certificate that is not PEM", { ...TLS_ENV, SSL_CERT_FILE: file("key.pem") }, /^invalid configuration: SSL_CERT_FILE="[^"]*key\.pem" \(allowed: a PEM certificate; no start line\)/],
    ["a key of another certificate", { ...TLS_ENV, SSL_KEY_FILE: file("other-key.pem") }, /^invalid configuration: SSL_KEY_FILE="[^"]*other-key\.pem" \(allowed: the private key of SSL_CERT_FILE=.*key values mismatch\)/],
    ["an encrypted key without SSL_PASSPHRASE", { ...TLS_ENV, SSL_KEY_FILE: file("key-encrypted.pem") }, /SSL_KEY_FILE=.*the key is encrypted and SSL_PASSPHRASE is unset\)$/],
    ["a wrong SSL_PASSPHRASE", { ...TLS_ENV, SSL_KEY_FILE: file("key-encrypted.pem"), SSL_PASSPHRASE: "wrong" }, /SSL_KEY_FILE=.*SSL_PASSPHRASE decrypts; bad decrypt\)$/],
  ];
  it.each(cases.flatMap(([what, env, message]) => ENGINES.map((engine) => [what, engine, env, message] as const)))(
    "%s (ENGINE=%s)",
    async (_what, engine, env, message) => {
      const result = await runMain({ ...env, ENGINE: engine, WORKERS: "2", PORT: "1" }, 15_000);
      expect(result.code).toBe(1);
      const lines = result.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(result.stderr).not.toContain("wrong"); // a passphrase is never printed
    },
  );
});
