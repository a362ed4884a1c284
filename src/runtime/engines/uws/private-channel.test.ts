import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateRequest } from "./private-channel";

/**
 * A peer that closes a kept-alive connection as idle just as a request is written on it: the
 * second request of every connection is answered with a reset (what the writer of a request on a
 * connection uWS has just closed gets), the first one with 200 and the connection kept alive.
 */
describe("privateRequest on a kept-alive connection the peer closed", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "private-channel-test-"));
  const socketPath = path.join(dir, "peer.sock");
  const connections: number[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const connection = connections.push(0) - 1;
    let buffered = "";
    socket.on("data", (chunk) => {
      buffered += chunk.toString("latin1");
      while (buffered.includes("\r\n\r\n")) {
        buffered = buffered.slice(buffered.indexOf("\r\n\r\n") + 4);
        const served = ++connections[connection]!;
        if (served === 2) return void socket.destroy();
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok`);
      }
    });
  });

  beforeAll(() => new Promise<void>((resolve) => server.listen(socketPath, resolve)));
  afterAll(async () => {
    // the private channel's agent keeps its connection alive: the peer ends it
    const closed = new Promise((resolve) => server.close(resolve));
    for (const socket of sockets) socket.destroy();
    await closed;
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends the request again on a new connection, once", async () => {
    const ask = () => privateRequest(socketPath, { method: "GET", path: "/x", headers: {}, timeoutMs: 10_000 });
    expect((await ask()).status).toBe(200);
    // the same connection is reused (keep-alive) and reset by the peer: answered on a new one
    const second = await ask();
    expect(second.status).toBe(200);
    expect(second.body.toString()).toBe("ok");
    expect(connections).toEqual([2, 1]);
  });
});
