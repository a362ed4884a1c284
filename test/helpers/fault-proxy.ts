import net from "node:net";

/**
 * A TCP proxy between test clients and the server, on loopback, that injects the faults of real
 * networks into the connections it carries (each client connection is one pair of sockets):
 * - `reset`: both sides get a TCP RST (the client sees `ECONNRESET`, the server a reset);
 * - `close`: both sides get a clean FIN;
 * - `blackhole`: nothing passes any more, in either direction, and nobody is told (as when a
 *   NAT or a Wi-Fi hop drops a flow): only heartbeats can tell;
 * - `latency` (with jitter) and `bandwidth`: every chunk waits, in order, per direction.
 * A Node TCP proxy rather than `tc netem` in a network namespace: it needs no privileges and
 * targets single connections; it cannot reorder packets inside a TCP stream (nothing can, TCP
 * keeps order).
 */
export interface FaultProxy {
  port: number;
  url: string;
  /** Connections carried now (client side open). */
  readonly connections: ReadonlySet<ProxiedConnection>;
  /** Connections ever accepted. */
  readonly accepted: number;
  /** Delay (ms) and jitter (ms, uniform in ±jitter) added to every chunk from now on. */
  setLatency(ms: number, jitterMs?: number): void;
  /** Bytes per second per direction and connection (0: unlimited). */
  setBandwidth(bytesPerSecond: number): void;
  close(): Promise<void>;
}

export interface ProxiedConnection {
  readonly id: number;
  readonly client: net.Socket;
  readonly server: net.Socket;
  reset(): void;
  close(): void;
  blackhole(): void;
  readonly blackholed: boolean;
}

export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  const connections = new Set<ProxiedConnection>();
  let accepted = 0;
  let latency = 0;
  let jitter = 0;
  let bandwidth = 0;

  /** Forwards `from` → `to` through the current latency and bandwidth, in order. */
  const pipe = (from: net.Socket, to: net.Socket, conn: { blackholed: boolean }) => {
    let chain = Promise.resolve();
    let waiting = 0; // chunks still delayed: a later one may not overtake them
    let nextFree = 0; // when the bandwidth budget lets the next chunk through (ms)
    from.on("data", (chunk: Buffer) => {
      if (conn.blackholed) return;
      if (latency === 0 && bandwidth === 0 && waiting === 0) {
        if (!to.destroyed) to.write(chunk);
        return;
      }
      const delay = Math.max(0, latency + (jitter > 0 ? (Math.random() * 2 - 1) * jitter : 0));
      let wait = delay;
      if (bandwidth > 0) {
        const now = Date.now();
        const start = Math.max(now, nextFree);
        nextFree = start + (chunk.length / bandwidth) * 1000;
        wait = Math.max(delay, nextFree - now);
      }
      const due = Date.now() + wait;
      waiting++;
      // in order: each chunk waits for the one before it
      chain = chain.then(
        () =>
          new Promise<void>((resolve) => {
            setTimeout(() => {
              waiting--;
              if (!conn.blackholed && !to.destroyed) to.write(chunk);
              resolve();
            }, Math.max(0, due - Date.now()));
          }),
      );
    });
  };

  const server = net.createServer({ noDelay: true }, (client) => {
    const id = ++accepted;
    const upstream = net.connect({ port: targetPort, host: "127.0.0.1", noDelay: true });
    const state = { blackholed: false };
    const conn: ProxiedConnection = {
      id,
      client,
      server: upstream,
      get blackholed() {
        return state.blackholed;
      },
      reset() {
        if (!client.destroyed) client.resetAndDestroy();
        if (!upstream.destroyed) upstream.resetAndDestroy();
      },
      close() {
        client.end();
        upstream.end();
      },
      blackhole() {
        state.blackholed = true;
        // nothing is read any more: what is sent piles up in the kernel buffers, as on a dead route
        client.pause();
        upstream.pause();
      },
    };
    connections.add(conn);
    const forget = () => connections.delete(conn);
    client.on("close", forget);
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    // a side that ends ends the other (unless the flow is blackholed: then nobody hears of it)
    client.on("end", () => !state.blackholed && upstream.end());
    upstream.on("end", () => !state.blackholed && client.end());
    client.on("close", () => !state.blackholed && upstream.destroy());
    upstream.on("close", () => !state.blackholed && client.destroy());
    pipe(client, upstream, state);
    pipe(upstream, client, state);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections,
    get accepted() {
      return accepted;
    },
    setLatency(ms, jitterMs = 0) {
      latency = ms;
      jitter = jitterMs;
    },
    setBandwidth(bytesPerSecond) {
      bandwidth = bytesPerSecond;
    },
    close() {
      for (const conn of connections) {
        conn.client.destroy();
        conn.server.destroy();
      }
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
