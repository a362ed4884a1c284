import http from "node:http";
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import { Server, type ServerOptions } from "socket.io";
import { io as connectClient, type Socket as ClientSocket } from "socket.io-client";
import { afterEach, describe, expect, it } from "vitest";
import { SocketPipeline } from "../sockets/pipeline";
import { MAX_NAMESPACE_LABELS, OTHER_NAMESPACES, SocketIoInstrumentation } from "./socketio-instrumentation";

interface Harness {
  io: Server;
  registry: Registry;
  url: string;
  close(): Promise<void>;
}

async function start(options: Partial<ServerOptions> = {}): Promise<Harness> {
  const httpServer = http.createServer();
  const io = new Server(httpServer, options);
  const registry = new Registry();
  new SocketIoInstrumentation(io, new SocketPipeline(io), registry);
  await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    io,
    registry,
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => io.close(() => resolve())),
  };
}

async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
}

function connected(url: string): Promise<ClientSocket> {
  const socket = connectClient(url, { forceNew: true, reconnection: false, transports: ["websocket"] });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

let harness: Harness | undefined;
const clients: ClientSocket[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await harness?.close();
  harness = undefined;
});

describe.each([
  ["without connection state recovery", {}],
  ["with connection state recovery", { connectionStateRecovery: {} }],
] as const)("SocketIoInstrumentation, %s", (_, options) => {
  it("tells events sent to one socket from broadcasts, and counts events received", async () => {
    harness = await start(options);
    const { io, registry } = harness;
    io.on("connection", (socket) => {
      socket.on("hello", (ack: () => void) => {
        socket.emit("one", 1);
        socket.emit("two", 2);
        io.emit("all", 3);
        socket.broadcast.emit("others", 4);
        ack();
      });
    });
    const client = await connected(harness.url);
    clients.push(client);
    const got = new Promise<void>((resolve) => client.once("all", () => resolve()));
    await client.timeout(5000).emitWithAck("hello");
    await client.timeout(5000).emitWithAck("hello");
    await got;
    const nsp = { namespace: "/" };
    expect(await value(registry, "socketio_connections_total", nsp)).toBe(1);
    expect(await value(registry, "socketio_events_received_total", nsp)).toBe(2);
    expect(await value(registry, "socketio_events_sent_total", nsp)).toBe(4);
    expect(await value(registry, "socketio_broadcasts_total", nsp)).toBe(4);
    expect(await value(registry, "socketio_connected_clients", { ...nsp, transport: "websocket" })).toBe(1);
    expect(await value(registry, "socketio_connected_clients", { ...nsp, transport: "polling" })).toBe(0);
    client.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(await value(registry, "socketio_disconnections_total", nsp)).toBe(1);
    expect(await value(registry, "socketio_connected_clients", { ...nsp, transport: "websocket" })).toBe(0);
  });
});

describe("SocketIoInstrumentation, namespace labels", () => {
  it(`gives the first ${MAX_NAMESPACE_LABELS} namespaces their own label, and the others "${OTHER_NAMESPACES}"`, async () => {
    harness = await start();
    for (let i = 0; i < MAX_NAMESPACE_LABELS + 10; i++) harness.io.of(`/n${i}`);
    const metric = (await harness.registry.getMetricsAsJSON()).find((m) => m.name === "socketio_connections_total")!;
    const labels = new Set(metric.values.map((v) => v.labels.namespace));
    expect(labels.size).toBe(MAX_NAMESPACE_LABELS + 1);
    expect(labels.has("/")).toBe(true);
    expect(labels.has(OTHER_NAMESPACES)).toBe(true);
    expect(labels.has(`/n${MAX_NAMESPACE_LABELS + 5}`)).toBe(false);
    // a socket of a namespace past the limit is counted under the shared label
    const client = await connected(`${harness.url}/n${MAX_NAMESPACE_LABELS + 5}`);
    clients.push(client);
    expect(await value(harness.registry, "socketio_connections_total", { namespace: OTHER_NAMESPACES })).toBe(1);
  });

  it("counts a namespace created after it started (dynamic namespaces included)", async () => {
    harness = await start();
    harness.io.of(/^\/room-\d+$/);
    const client = await connected(`${harness.url}/room-7`);
    clients.push(client);
    expect(await value(harness.registry, "socketio_connections_total", { namespace: "/room-7" })).toBe(1);
  });
});
