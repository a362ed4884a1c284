/**
 * The ceiling: raw uWebSockets.js pub/sub, no Engine.IO or Socket.IO code. It speaks just enough of
 * their text wire format (hand-coded, no heartbeats, WebSocket only) for the same load generator
 * to drive it: open packet, namespace connect, `echo` / `whoami` / `join` with acks, and `shout`
 * published with `app.publish`. Workers share the port (SO_REUSEPORT); a broadcast reaches the
 * other workers through the primary, as the cluster adapter's messages do.
 */
import cluster from "node:cluster";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import uws from "uWebSockets.js";
import { announce } from "./http-routes";

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? "127.0.0.1";
const workers = Number(process.env.WORKERS ?? 2);
const GLOBAL = "all";

interface Relay {
  type: "raw:publish";
  topic: string;
  frame: string;
}

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  let ready = 0;
  cluster.on("message", (from, message: { type?: string }) => {
    if (message?.type === "raw:publish") {
      for (const worker of Object.values(cluster.workers ?? {})) if (worker && worker !== from) worker.send(message);
    } else if (message?.type === "bench:ready" && ++ready === workers) {
      announce(port, [process.pid, ...Object.values(cluster.workers ?? {}).map((w) => w!.process.pid!)]);
    }
  });
  process.on("SIGTERM", () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
    setTimeout(() => process.exit(0), 200).unref();
  });
} else {
  const instance = `worker-${cluster.worker!.id}`;
  const publicDir = process.env.PUBLIC_DIR ?? "public";
  const index = readFileSync(path.join(publicDir, "index.html"));
  const clientJs = readFileSync(
    path.join(path.dirname(require.resolve("socket.io/package.json")), "client-dist", "socket.io.js"),
  );
  const app = uws.App();
  const decoder = new TextDecoder();

  const publish = (topic: string, frame: string) => {
    app.publish(topic, frame, false);
    process.send!({ type: "raw:publish", topic, frame } satisfies Relay);
  };
  process.on("message", (message: Relay) => {
    if (message?.type === "raw:publish") app.publish(message.topic, message.frame, false);
  });

  app.ws<{ sid: string }>("/socket.io/", {
    idleTimeout: 0,
    maxBackpressure: 4 * 1024 * 1024,
    maxPayloadLength: 1_000_000,
    upgrade: (res, req, context) => {
      res.upgrade(
        { sid: randomBytes(15).toString("base64url") },
        req.getHeader("sec-websocket-key"),
        req.getHeader("sec-websocket-protocol"),
        req.getHeader("sec-websocket-extensions"),
        context,
      );
    },
    open: (ws) => {
      const { sid } = ws.getUserData();
      ws.send(`0{"sid":"${sid}","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`);
    },
    message: (ws, message) => {
      const text = decoder.decode(message);
      const { sid } = ws.getUserData();
      if (text === "40") {
        ws.subscribe(GLOBAL);
        ws.send(`40{"sid":"${sid}"}`);
        return;
      }
      if (!text.startsWith("42")) return; // "3" (pong) and anything else: nothing to do
      let i = 2;
      while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
      const ackId = text.slice(2, i);
      const body = text.slice(i);
      if (body.startsWith('["echo",')) {
        if (ackId) ws.send(`43${ackId}[${body.slice(8)}`);
        return;
      }
      const [event, arg] = JSON.parse(body) as [string, unknown];
      if (event === "whoami") {
        ws.send(`43${ackId}[${JSON.stringify({ instance, id: sid, transport: "websocket" })}]`);
      } else if (event === "join") {
        if (typeof arg === "string" && arg.length > 0 && arg.length <= 64) ws.subscribe(`room:${arg}`);
        if (ackId) ws.send(`43${ackId}[]`);
      } else if (event === "shout") {
        const { to, payload } = (arg ?? {}) as { to?: unknown; payload?: unknown };
        const frame = `42["broadcast",${JSON.stringify(payload)},"${sid}"]`;
        if (to === "all") publish(GLOBAL, frame);
        else if (to && typeof to === "object" && typeof (to as { room?: unknown }).room === "string") {
          publish(`room:${(to as { room: string }).room}`, frame);
        }
      }
    },
  });
  app.get("/healthz", (res) => {
    res.cork(() => res.writeHeader("content-type", "text/plain; charset=utf-8").end("ok\n"));
  });
  app.get("/", (res) => {
    res.cork(() => res.writeHeader("content-type", "text/html; charset=utf-8").writeHeader("cache-control", "no-cache").end(index));
  });
  app.get("/socket.io/socket.io.js", (res) => {
    res.cork(() => res.writeHeader("content-type", "application/javascript; charset=utf-8").end(clientJs));
  });
  app.any("/*", (res) => {
    res.cork(() => res.writeStatus("404 Not Found").end("not found\n"));
  });
  app.listen(host, port, (token) => {
    if (!token) {
      process.stderr.write(`cannot listen on ${host}:${port}\n`);
      process.exit(1);
    }
    process.send!({ type: "bench:ready" });
  });
  process.on("SIGTERM", () => process.exit(0));
}
