import net from "node:net";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { stopReading } from "./stop-reading";

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const opened: net.Socket[] = [];
const servers: net.Server[] = [];

afterEach(() => {
  for (const socket of opened.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.close();
});

/** A server socket that read the client's first bytes (as the primary reads a request head), and its client. */
async function pairAfterFirstBytes(first: string): Promise<{ server: net.Socket; client: net.Socket; stopped: Promise<void> }> {
  let stoppedResolve!: () => void;
  const stopped = new Promise<void>((resolve) => (stoppedResolve = resolve));
  const accepted = new Promise<net.Socket>((resolve) => {
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      opened.push(socket);
      // as the primary's router: stop in the `data` listener that got the head
      const onData = () => {
        socket.off("data", onData);
        socket.pause();
        stopReading(socket);
        stoppedResolve();
      };
      socket.on("data", onData);
      socket.resume();
      resolve(socket);
    });
    servers.push(server);
    server.listen(0, "127.0.0.1");
  });
  const server = servers[servers.length - 1]!;
  await once(server, "listening");
  const client = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  opened.push(client);
  await once(client, "connect");
  client.write(first);
  return { server: await accepted, client, stopped };
}

describe("stopReading", () => {
  it("keeps the handle stopped after the stream's read-ahead, so later bytes stay in the kernel for the next owner", async () => {
    const { server, client, stopped } = await pairAfterFirstBytes("GET / HTTP/1.1\r\n\r\n");
    await stopped;
    const read = server.bytesRead;
    await nextTurn(); // the read-ahead (scheduled by the delivery of the head) has run
    expect((server as unknown as { _handle: { reading: boolean } })._handle.reading).toBe(false);

    // the client's next bytes (a WebSocket frame, once the worker answered) are not read here
    await new Promise<void>((resolve, reject) => client.write("next frame", (err) => (err ? reject(err) : resolve())));
    await nextTurn();
    await nextTurn();
    expect(server.bytesRead).toBe(read);

    // they are still there for whoever reads the connection next (here: this socket, its stream reset)
    delete (server as unknown as { _read?: unknown })._read;
    (server as unknown as { _readableState: { reading: boolean } })._readableState.reading = false;
    const received = once(server, "data");
    server.resume();
    expect(String((await received)[0])).toBe("next frame");
  });
});
