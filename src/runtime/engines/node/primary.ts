import createDebug from "debug";
import type { Worker } from "node:cluster";
import net from "node:net";
import { ownerOf } from "../session-id";
import { AddressSlots } from "./address-slots";
import { stopReading } from "./stop-reading";
import type { EnginePrimary, EnginePrimaryContext } from "../engine";

const debug = createDebug("runtime:node:router");

/** Longest a client may take to send its request headers before the primary hangs up (ms). */
const HEADERS_TIMEOUT_MS = 10_000;
/** Largest request head the primary reads to find the session id. */
const MAX_HEAD = 16 * 1024;
const HEAD_END = Buffer.from("\r\n\r\n");

/** The session id in a request head (`sid=` in the request line's query), if any. */
function sessionIdOf(head: Buffer): string | undefined {
  const lineEnd = head.indexOf("\r\n");
  const line = head.subarray(0, lineEnd === -1 ? head.length : lineEnd).toString("latin1");
  return /[?&]sid=([^&\s]+)/.exec(line)?.[1];
}

/**
 * The Node engine's sticky router, in the primary: accepts TCP connections, reads the request
 * head, and hands the connection (with the bytes it read) to the worker that owns the session
 * named in it, or to the next worker in turn for a new session.
 *
 * What it does differently from `@socket.io/sticky`, whose primary loses connections under load
 * (measured: up to 1% of WebSocket-only connects with 4 workers): `@socket.io/sticky` sends the
 * handle while the primary's copy of the socket still reads, and Node keeps that copy open until
 * the worker acknowledges the handle (handles to one worker are sent one at a time, so under a
 * burst this takes up to seconds); bytes the client sends meanwhile (its first WebSocket frame,
 * the Socket.IO CONNECT) are read by the primary and discarded. Here the socket stops reading
 * before the handle leaves, and every byte read so far goes with it. It also owns no session
 * table (session ids name their worker), and only hands connections to workers that listen.
 */
export function startConnectionRouter({ config, channel, readyWorkers }: EnginePrimaryContext): Promise<EnginePrimary> {
  // TLS: the primary cannot read the encrypted request; it routes by client address
  const addressSlots = config.sslKeyFile ? config.workers : undefined;
  let next = 0;
  const pick = (head: Buffer): Worker | undefined => {
    const workers = readyWorkers().filter((worker) => worker.isConnected());
    if (workers.length === 0) return undefined;
    const sid = sessionIdOf(head);
    const owner = sid ? ownerOf(sid) : undefined;
    const owning = owner === undefined ? undefined : workers.find((worker) => worker.id === owner);
    return owning ?? workers[next++ % workers.length];
  };

  const slots = addressSlots ? new AddressSlots(addressSlots) : undefined;
  const pickByAddress = (socket: net.Socket): Worker | undefined => {
    const workers = readyWorkers().filter((worker) => worker.isConnected());
    const id = slots!.pick(socket.remoteAddress ?? "", workers.map((worker) => worker.id));
    return workers.find((worker) => worker.id === id);
  };

  const route = (socket: net.Socket) => {
    const chunks: Buffer[] = [];
    let size = 0;
    socket.on("error", () => socket.destroy());
    // a deadline for the whole head, not an idle timeout: a client dribbling bytes (slowloris) is cut off too
    const deadline = setTimeout(() => socket.destroy(), HEADERS_TIMEOUT_MS);
    socket.once("close", () => clearTimeout(deadline));
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      const head = chunks.length === 1 ? chunk : Buffer.concat(chunks, size);
      if (head.indexOf(HEAD_END) === -1 && size < MAX_HEAD) return;
      socket.off("data", onData);
      socket.pause();
      // take what is buffered first: read() may re-arm reading on the handle
      while (socket.readableLength > 0) {
        const buffered = socket.read() as Buffer | null;
        if (buffered === null) break;
        chunks.push(buffered);
      }
      // last step before the hand-over: what the kernel receives from now on is read by the worker
      stopReading(socket);
      clearTimeout(deadline);
      handOver(socket, Buffer.concat(chunks));
    };
    socket.on("data", onData);
    socket.resume();
  };

  const handOver = (socket: net.Socket, head: Buffer) => {
    const worker = slots ? pickByAddress(socket) : pick(head);
    if (!worker) {
      if (slots) socket.destroy(); // a TLS client cannot read a plain answer
      else socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    socket.setTimeout(0);
    socket.removeAllListeners("error");
    socket.on("error", () => undefined);
    debug("connection (%d bytes read) to worker %d", head.length, worker.id);
    channel.send(worker, "routing:connection", { head: head.toString("base64") }, {
      handle: socket,
      keepOpen: false,
      sent: (err) => {
        if (!err) return;
        debug("hand-over to worker %d failed: %s", worker.id, err.message);
        socket.destroy();
      },
    });
  };

  // by address: nothing to read, the connection (still paused) goes at once
  const onConnection = slots ? (socket: net.Socket) => handOver(socket, Buffer.alloc(0)) : route;
  const server = net.createServer({ pauseOnConnect: true, noDelay: true }, onConnection);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: config.host, port: config.port }, () => {
      server.off("error", reject);
      resolve({ close: () => server.close() });
    });
  });
}
