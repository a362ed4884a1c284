import net from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENGINES } from "./helpers/engines";
import { startServer, type RunningServer } from "./helpers/server";

/** One HTTP/1.1 exchange on a raw keep-alive connection (uWS answers with a Content-Length). */
class RawConnection {
  private buffered = Buffer.alloc(0);
  private waiting: (() => void) | undefined;
  private constructor(readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.waiting?.();
    });
    socket.on("close", () => this.waiting?.());
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => resolve(new RawConnection(socket)));
      socket.once("error", reject);
    });
  }

  static request(path: string, method = "GET", body = ""): string {
    const length = method === "POST" ? `Content-Type: text/plain;charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` : "";
    return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${length}\r\n${body}`;
  }

  /** Sends a request and resolves with its response. */
  async exchange(path: string, method = "GET", body = ""): Promise<{ status: number; body: string }> {
    this.socket.write(RawConnection.request(path, method, body));
    return this.response();
  }

  /** Resolves with the next complete response on this connection. */
  async response(): Promise<{ status: number; body: string }> {
    for (;;) {
      const end = this.buffered.indexOf("\r\n\r\n");
      if (end >= 0) {
        const head = this.buffered.subarray(0, end).toString("latin1");
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? "0");
        if (this.buffered.length >= end + 4 + length) {
          const body = this.buffered.subarray(end + 4, end + 4 + length).toString();
          this.buffered = this.buffered.subarray(end + 4 + length);
          return { status: Number(head.split(" ")[1]), body };
        }
      }
      if (this.socket.destroyed) throw new Error(`connection closed before a complete response: ${this.buffered.toString()}`);
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }
}

const HANDSHAKE = "/socket.io/?EIO=4&transport=polling";
const poll = (sid: string) => `${HANDSHAKE}&sid=${encodeURIComponent(sid)}`;

/** Opens a connection and creates a session on it; the session's id names the worker that has it. */
async function sessionOn(port: number): Promise<{ connection: RawConnection; sid: string; owner: number }> {
  const connection = await RawConnection.open(port);
  const answer = await connection.exchange(HANDSHAKE);
  expect(answer.status).toBe(200);
  const sid = (JSON.parse(answer.body.slice(1)) as { sid: string }).sid;
  return { connection, sid, owner: parseInt(sid.split(".")[0]!, 36) };
}

// only the uWS engine forwards requests between workers (the Node engine routes every connection in its primary)
describe.skipIf(!ENGINES.includes("uws"))("polls that cross workers, when the owner of their session is kept off the CPU (uWS)", () => {
  let server: RunningServer | undefined;
  beforeAll(async () => {
    server = await startServer({ workers: 2, engine: "uws", app: "echo", env: { DEBUG: "runtime:uws:forward" } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("a poll cancelled on the owner's connection, then a new poll through the other worker: the session closes (400)", async () => {
    const { port } = server!;
    const first = await sessionOn(port);
    // a connection that reaches the other worker
    const opened: RawConnection[] = [];
    let other: Awaited<ReturnType<typeof sessionOn>> | undefined;
    while (!other) {
      const candidate = await sessionOn(port);
      if (candidate.owner !== first.owner) other = candidate;
      else opened.push(candidate.connection);
    }
    // the other worker forwards a noop to the owner: its private connection to the owner stays open
    expect(await other.connection.exchange(poll(first.sid), "POST", "6")).toEqual({ status: 200, body: "ok" });
    const owner = (await server!.stats()).workers.find((w) => w.workerId === first.owner)!;

    process.kill(owner.pid, "SIGSTOP");
    try {
      // the client sends a poll on the connection to the owner and cancels it (the connection ends)…
      first.connection.socket.end(RawConnection.request(poll(first.sid)));
      // …then polls again, through the other worker, which forwards the poll to the stopped owner
      const forwarded = forwardLogged(server!, first.sid);
      const next = other.connection.exchange(poll(first.sid));
      await forwarded;
      process.kill(owner.pid, "SIGCONT");
      // the owner reads both polls in one turn and the connection's end on the next
      expect(await next).toEqual({ status: 400, body: expect.stringContaining("Session ID unknown") });
    } finally {
      process.kill(owner.pid, "SIGCONT");
      for (const connection of [...opened, other.connection]) connection.socket.destroy();
    }
  });
});

describe.each(ENGINES)("a poll that comes after its session's heartbeat deadline, ENGINE=%s", (engine) => {
  const PING_INTERVAL = 300;
  // long enough for the poll to reach the worker once it runs again (a bound tied to this setting)
  const PING_TIMEOUT = 3000;
  let server: RunningServer | undefined;
  beforeAll(async () => {
    server = await startServer({ workers: 1, engine, app: "echo", env: { PING_INTERVAL: String(PING_INTERVAL), PING_TIMEOUT: String(PING_TIMEOUT) } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("is counted (pollsPastPingDeadline) when the worker's timers fire late; a poll in time is not", async () => {
    const url = server!.url;
    const handshake = async () => {
      const answer = await fetch(url + HANDSHAKE);
      expect(answer.status).toBe(200);
      return (JSON.parse((await answer.text()).slice(1)) as { sid: string }).sid;
    };
    const [worker] = (await server!.stats()).workers;
    expect(worker!.pollsPastPingDeadline).toBe(0);
    // in time: a poll right after the handshake waits for the ping
    const inTime = await handshake();
    const inTimePoll = await fetch(url + poll(inTime));
    expect({ status: inTimePoll.status, body: await inTimePoll.text() }).toEqual({ status: 200, body: "2" });

    const late = await handshake();
    // the worker is kept off the CPU past the deadline (as a busy machine does): its timers cannot fire
    process.kill(worker!.pid, "SIGSTOP");
    try {
      // the protocol's deadline, counted from when the client got the handshake (after the server's clock started)
      await delay(PING_INTERVAL + PING_TIMEOUT);
      const answer = fetch(url + poll(late));
      process.kill(worker!.pid, "SIGCONT");
      // its ping is sent now, late, and PING_TIMEOUT runs from then: the poll is read well before
      expect((await answer).status).toBe(200);
    } finally {
      process.kill(worker!.pid, "SIGCONT");
    }
    expect((await server!.stats()).workers[0]!.pollsPastPingDeadline).toBe(1);
  });
});

/** Resolves once the `runtime:uws:forward` debug output shows a poll of `sid` being forwarded. */
function forwardLogged(server: RunningServer, sid: string): Promise<void> {
  const needle = `forward GET /socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
  return new Promise((resolve) => {
    const check = () => {
      if (!server.stderr.join("").includes(needle)) return;
      server.child.stderr!.off("data", check);
      resolve();
    };
    server.child.stderr!.on("data", check);
    check();
  });
}
