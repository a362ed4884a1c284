import http from "node:http";
import WebSocket from "ws";
import { CONNECT_FRAME, EIO, PONG_FRAME, readInt, SIO, splitPayload } from "./protocol";

/** What the generator does with the frames that matter to a scenario. */
export interface FrameSink {
  /** An ack for an echo sent at `scheduledUs`. */
  echoAck(conn: Conn, scheduledUs: number): void;
  /** A Socket.IO EVENT frame from the server (a broadcast). */
  event(conn: Conn, data: Buffer): void;
  /** The connection closed without the generator asking for it. */
  lost(conn: Conn): void;
}

/**
 * One simulated client: a WebSocket that speaks Engine.IO/Socket.IO itself. It answers pings
 * and routes acks; everything else goes to the sink.
 */
export class Conn {
  ws: WebSocket | undefined;
  sid = "";
  /** Which server process serves it (from `whoami`). */
  instance = "";
  /** The room it joined, if any. */
  room = "";
  open = false;
  private closing = false;
  private nextAck = 1;
  private readonly acks = new Map<number, (data: Buffer, offset: number) => void>();
  /** Echoes in flight: ack id → scheduled send time (µs). */
  readonly echoes = new Map<number, number>();
  private handshake: ((error?: Error) => void) | undefined;

  constructor(
    public index: number,
    private readonly sink: FrameSink,
  ) {}

  /** Takes over `ws` (already open or opening) and waits for the Socket.IO connect. */
  attach(ws: WebSocket, connectNow: boolean): Promise<void> {
    this.ws = ws;
    ws.on("message", (data: Buffer) => this.onFrame(data));
    ws.on("close", () => {
      const wasOpen = this.open;
      this.open = false;
      this.handshake?.(new Error("closed during handshake"));
      if (wasOpen && !this.closing) this.sink.lost(this);
    });
    if (connectNow) ws.send(CONNECT_FRAME);
    return new Promise((resolve, reject) => {
      this.handshake = (error) => {
        this.handshake = undefined;
        if (error) reject(error);
        else resolve();
      };
    });
  }

  /** Marks the Socket.IO connect as done (polling clients may get it before the upgrade). */
  connected(): void {
    this.open = true;
    this.handshake?.();
  }

  nextAckId(): number {
    return this.nextAck++;
  }

  send(frame: string): void {
    this.ws!.send(frame);
  }

  /** Sends a frame built around a fresh ack id; resolves with the ack frame and its body offset. */
  request(frameOf: (ackId: number) => string, timeoutMs = 10_000): Promise<{ data: Buffer; offset: number }> {
    const id = this.nextAck++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.acks.delete(id);
        reject(new Error("ack timeout"));
      }, timeoutMs);
      this.acks.set(id, (data, offset) => {
        clearTimeout(timer);
        resolve({ data, offset });
      });
      this.send(frameOf(id));
    });
  }

  close(): void {
    this.closing = true;
    this.open = false;
    this.ws?.close(1000);
  }

  /** Drops the TCP connection at once (used when a connect attempt fails). */
  destroy(): void {
    this.closing = true;
    this.open = false;
    this.ws?.terminate();
  }

  private onFrame(data: Buffer): void {
    const type = data[0];
    if (type === EIO.ping) {
      this.ws!.send(PONG_FRAME);
      return;
    }
    if (type === EIO.open) {
      if (this.handshake) this.send(CONNECT_FRAME); // WebSocket-only: open packet, then connect
      return;
    }
    if (type !== EIO.message) return;
    const kind = data[1];
    if (kind === SIO.ack) {
      const [id, offset] = readInt(data, 2);
      const scheduled = this.echoes.get(id);
      if (scheduled !== undefined) {
        this.echoes.delete(id);
        this.sink.echoAck(this, scheduled);
        return;
      }
      const handler = this.acks.get(id);
      if (handler) {
        this.acks.delete(id);
        handler(data, offset);
      }
    } else if (kind === SIO.event) {
      this.sink.event(this, data);
    } else if (kind === SIO.connect) {
      this.connected();
    } else if (kind === SIO.connectError) {
      this.handshake?.(new Error(`connect error: ${data.toString()}`));
    }
  }
}

const WS_OPTIONS = { perMessageDeflate: false, skipUTF8Validation: true } as const;

/** WebSocket-only client: `GET /socket.io/?EIO=4&transport=websocket`, open packet, `40`, `40{…}`. */
export async function connectWebSocket(conn: Conn, host: string, port: number, localAddress: string | undefined, timeoutMs: number): Promise<void> {
  const ws = new WebSocket(`ws://${host}:${port}/socket.io/?EIO=4&transport=websocket`, {
    ...WS_OPTIONS,
    localAddress,
    handshakeTimeout: timeoutMs,
  });
  ws.on("error", () => undefined); // reported through "close"
  await withTimeout(conn.attach(ws, false), timeoutMs, () => conn.destroy());
}

interface HttpAnswer {
  status: number;
  body: string;
}

/** HTTP requests made by default (polling) clients so far in this process. */
export const pollingCounters = { requests: 0, polls: 0 };

function httpRequest(agent: http.Agent, host: string, port: number, path: string, method: string, body?: string): Promise<HttpAnswer> {
  pollingCounters.requests++;
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = body === undefined ? {} : { "content-type": "text/plain;charset=UTF-8", "content-length": Buffer.byteLength(body) };
    const req = http.request({ host, port, path, method, agent, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * The default client's way in, as socket.io-client does it: HTTP long-polling handshake, the
 * connect packet by POST while a GET polls, then the WebSocket upgrade (`2probe` / `3probe`,
 * wait for the pending poll to return, `5`). Each client has its own keep-alive agent (two
 * sockets, as a browser), closed once the WebSocket took over.
 */
export async function connectPolling(conn: Conn, host: string, port: number, localAddress: string | undefined, timeoutMs: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2, localAddress });
  const base = "/socket.io/?EIO=4&transport=polling";
  let ws: WebSocket | undefined;
  let paused = false;
  const attempt = async () => {
    const open = await httpRequest(agent, host, port, `${base}&t=${Date.now().toString(36)}`, "GET");
    if (open.status !== 200 || !open.body.startsWith("0")) throw new Error(`handshake: HTTP ${open.status} ${open.body.slice(0, 80)}`);
    const { sid } = JSON.parse(open.body.slice(1)) as { sid: string };
    conn.sid = sid;
    const query = `${base}&sid=${encodeURIComponent(sid)}`;
    let connectedByPoll = false;
    // the connect packet, as socket.io-client sends it right after the handshake
    const posted = httpRequest(agent, host, port, `${query}&t=p`, "POST", CONNECT_FRAME).then((answer) => {
      if (answer.status !== 200) throw new Error(`POST: HTTP ${answer.status} ${answer.body.slice(0, 80)}`);
    });
    // polls until the upgrade pauses the transport
    const polling = (async () => {
      while (!paused) {
        pollingCounters.polls++;
        const answer = await httpRequest(agent, host, port, `${query}&t=g`, "GET");
        if (answer.status !== 200) throw new Error(`poll: HTTP ${answer.status} ${answer.body.slice(0, 80)}`);
        for (const packet of splitPayload(answer.body)) {
          if (packet.startsWith("40")) connectedByPoll = true;
          else if (packet === "2") await httpRequest(agent, host, port, `${query}&t=q`, "POST", PONG_FRAME);
        }
      }
    })();
    posted.catch(() => undefined);
    polling.catch(() => undefined);
    ws = new WebSocket(`ws://${host}:${port}/socket.io/?EIO=4&transport=websocket&sid=${encodeURIComponent(sid)}`, {
      ...WS_OPTIONS,
      localAddress,
      handshakeTimeout: timeoutMs,
    });
    ws.on("error", () => undefined);
    const socket = ws;
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => socket.send("2probe"));
      socket.once("close", () => reject(new Error("upgrade refused: WebSocket closed during the probe (socket.io-client would stay on long-polling)")));
      socket.once("message", (data: Buffer) => {
        if (data.toString() === "3probe") resolve();
        else reject(new Error(`unexpected probe answer ${data.toString().slice(0, 40)}`));
      });
    });
    paused = true;
    await Promise.all([posted, polling]);
    socket.removeAllListeners("close");
    socket.removeAllListeners("message");
    const ready = conn.attach(socket, false);
    socket.send("5");
    if (connectedByPoll) conn.connected();
    await ready;
  };
  try {
    await withTimeout(attempt(), timeoutMs, () => ws?.terminate());
  } catch (err) {
    paused = true;
    conn.destroy();
    ws?.terminate();
    throw err;
  } finally {
    agent.destroy();
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          onTimeout();
          reject(new Error(`no connection within ${ms} ms`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
