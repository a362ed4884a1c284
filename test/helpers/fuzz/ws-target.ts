import WebSocket from "ws";

/** How the server took a frame. */
export type FrameOutcome = "alive" | "closed" | "no-answer";

/** The probe: a CONNECT to a namespace that does not exist, always answered with a CONNECT_ERROR. */
const PROBE = "40/fuzz-probe,";
const PROBE_ANSWER = "44/fuzz-probe,";
/** Frames kept per connection, to show what came before a frame left without an answer. */
const HISTORY = 12;

/** A frame as JSON text (binary frames as latin1), cut to `max` characters. */
const shown = (frame: string | Buffer, max = 300) => JSON.stringify((typeof frame === "string" ? frame : frame.toString("latin1")).slice(0, max));

/**
 * A raw Engine.IO WebSocket that sends fuzz frames one at a time: after each, a probe that the
 * server always answers (unless it closes the connection), so that a frame counts as taken only
 * once the server has processed it. Reopens itself after the server closes it.
 */
export class WsTarget {
  private socket: WebSocket | undefined;
  private opening: Promise<WebSocket | undefined> | undefined;
  private waiter: ((outcome: FrameOutcome) => void) | undefined;
  /** Connections the server closed. */
  closes = 0;
  /**
   * The first frames the server neither answered nor closed the connection after (to replay them),
   * each with its session id and the frames sent before it on the same connection.
   */
  readonly unanswered: string[] = [];
  /** The frames sent on the open connection, oldest first (the last {@link HISTORY}). */
  private history: string[] = [];
  private sid = "";

  constructor(
    private readonly port: number,
    // a bound on a stall of a loaded machine, not a speed
    private readonly probeTimeoutMs = 30_000,
  ) {}

  /** Sends `frame` (text unless `binary`) on an open connection, connected to `/` when `joinMain`. */
  async send(frame: string | Buffer, binary = false, joinMain = true): Promise<FrameOutcome> {
    const socket = await this.open(joinMain);
    if (!socket) return "closed";
    return new Promise<FrameOutcome>((resolve) => {
      const timer = setTimeout(() => settle("no-answer"), this.probeTimeoutMs);
      const settle = (outcome: FrameOutcome) => {
        clearTimeout(timer);
        this.waiter = undefined;
        if (outcome === "no-answer") {
          if (this.unanswered.length < 5) {
            const before = this.history.slice(0, -1).join(" · ");
            this.unanswered.push(`${shown(frame)} (session ${this.sid}; sent before it on the connection, oldest first: ${before || "nothing"})`);
          }
          this.drop();
        }
        resolve(outcome);
      };
      this.waiter = settle;
      this.remember(frame);
      socket.send(frame, { binary });
      socket.send(PROBE);
    });
  }

  /** Sends frames without probing (for sequences whose later frames matter only as a whole). */
  async sendAll(frames: Array<{ data: string | Buffer; binary?: boolean }>, joinMain = true): Promise<FrameOutcome> {
    const last = frames.length - 1;
    for (let i = 0; i < last; i++) {
      const socket = await this.open(joinMain);
      if (!socket) return "closed";
      this.remember(frames[i]!.data);
      socket.send(frames[i]!.data, { binary: frames[i]!.binary ?? false });
    }
    return this.send(frames[last]!.data, frames[last]!.binary ?? false, joinMain);
  }

  close(): void {
    this.drop();
  }

  private remember(frame: string | Buffer): void {
    this.history.push(shown(frame, 120));
    if (this.history.length > HISTORY) this.history.shift();
  }

  private drop(): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.removeAllListeners();
    socket?.on("error", () => undefined);
    socket?.terminate();
  }

  private open(joinMain: boolean): Promise<WebSocket | undefined> {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) return Promise.resolve(this.socket);
    this.opening ??= this.connect(joinMain).finally(() => (this.opening = undefined));
    return this.opening;
  }

  private connect(joinMain: boolean): Promise<WebSocket | undefined> {
    return new Promise((resolve) => {
      const socket = new WebSocket(`ws://127.0.0.1:${this.port}/socket.io/?EIO=4&transport=websocket`, {
        perMessageDeflate: false,
        handshakeTimeout: 10_000,
      });
      let ready = false;
      const timer = setTimeout(() => fail(), 10_000);
      const fail = () => {
        clearTimeout(timer);
        socket.removeAllListeners();
        socket.on("error", () => undefined);
        socket.terminate();
        if (!ready) resolve(undefined);
      };
      socket.on("error", () => fail());
      socket.on("close", () => {
        if (this.socket === socket) {
          this.socket = undefined;
          this.closes++;
        }
        this.waiter?.("closed");
        fail();
      });
      socket.on("message", (data: Buffer, isBinary: boolean) => {
        if (isBinary) return;
        const text = data.toString();
        if (text === "2") return void socket.send("3");
        if (!ready && text.startsWith("0{")) {
          this.sid = /"sid":"([^"]+)"/.exec(text)?.[1] ?? "?";
          if (!joinMain) return opened();
          socket.send("40");
          return;
        }
        if (!ready && text.startsWith("40{")) return opened();
        if (text.startsWith(PROBE_ANSWER)) this.waiter?.("alive");
      });
      const opened = () => {
        clearTimeout(timer);
        ready = true;
        this.socket = socket;
        this.history = [];
        resolve(socket);
      };
    });
  }
}
