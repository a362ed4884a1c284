import net from "node:net";

/** How one slow connection ended. */
export interface SlowResult {
  /** ms from connect until the server closed the connection; `undefined` if it never did (the client gave up). */
  closedAfterMs: number | undefined;
  /** Bytes the client managed to write. */
  written: number;
  /** The first bytes the server answered (e.g. `HTTP/1.1 408`), if any. */
  answer: string;
}

export interface SlowOptions {
  port: number;
  /** Written at once after connecting. */
  prefix?: string;
  /** Then written one byte at a time, every `intervalMs` (repeated while it lasts). */
  dribble: string;
  intervalMs: number;
  /** The client gives up (and closes) after this long (ms). */
  giveUpMs: number;
}

/**
 * A slow client: connects, writes `prefix`, then dribbles `dribble` one byte at a time, and
 * reports when (whether) the server cut it off.
 */
export function slowClient(options: SlowOptions): Promise<SlowResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ port: options.port, host: "127.0.0.1" });
    let started = 0;
    let written = 0;
    let answer = "";
    let index = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closedAfterMs: number | undefined) => {
      clearTimeout(timer);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ closedAfterMs, written, answer: answer.slice(0, 40) });
    };
    const giveUp = setTimeout(() => finish(undefined), options.giveUpMs);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (answer += chunk));
    socket.on("close", () => finish(Date.now() - started));
    socket.on("error", () => undefined);
    socket.once("connect", () => {
      started = Date.now();
      if (options.prefix) {
        socket.write(options.prefix);
        written += options.prefix.length;
      }
      const step = () => {
        if (socket.destroyed) return;
        socket.write(options.dribble[index++ % options.dribble.length]!);
        written++;
        timer = setTimeout(step, options.intervalMs);
      };
      timer = setTimeout(step, options.intervalMs);
    });
  });
}

/**
 * Opens `count` TCP connections that never send anything (in batches, so that the listen
 * backlog does not overflow); `halfClosed` of them send a FIN right away. Resolves with the
 * sockets and, for each, a promise of the ms until the server closed it (`undefined`: not within `giveUpMs`).
 */
export async function idleConnections(
  port: number,
  count: number,
  halfClosed: number,
  giveUpMs: number,
): Promise<{ sockets: net.Socket[]; closed: Array<Promise<number | undefined>> }> {
  const sockets: net.Socket[] = [];
  const closed: Array<Promise<number | undefined>> = [];
  const batch = 250;
  for (let start = 0; start < count; start += batch) {
    const opened = Array.from({ length: Math.min(batch, count - start) }, (_, i) => {
      const socket = net.connect({ port, host: "127.0.0.1" });
      socket.on("error", () => undefined);
      sockets.push(socket);
      let connectedAt = 0;
      closed.push(
        new Promise((resolve) => {
          const timer = setTimeout(() => resolve(undefined), giveUpMs);
          socket.once("close", () => {
            clearTimeout(timer);
            resolve(connectedAt ? Date.now() - connectedAt : 0);
          });
        }),
      );
      return new Promise<void>((resolve) => {
        socket.once("connect", () => {
          connectedAt = Date.now();
          if (start + i < halfClosed) socket.end();
          resolve();
        });
        socket.once("close", () => resolve());
      });
    });
    await Promise.all(opened);
  }
  return { sockets, closed };
}
