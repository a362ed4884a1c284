import createDebug from "debug";
import type { TemplatedApp, WebSocket as UwsWebSocket } from "uWebSockets.js";
import WebSocket from "ws";

const debug = createDebug("runtime:uws:anchor");

/** The private app's path of the anchor WebSocket. */
const ANCHOR_PATH = "/__upgrade-anchor";
/** Wait before connecting the anchor again after it closed (ms). */
const RECONNECT_MS = 1000;

/**
 * A WebSocket from the worker to its own private listener, held open so that upgrades done
 * outside uWS's handlers (after an asynchronous step: a takeover, an admission) can run while
 * another socket is corked. This uWS build has two ways to do such an upgrade, both wrong:
 * inside `res.cork()`, cork() then reads the response's state from what is now the WebSocket's
 * memory and may close the new WebSocket at once (uNetworking/uWebSockets#1928, fixed upstream by
 * #1929); outside it, every upgrade prints a warning to stderr. With the anchor corked, the
 * response's cork() only runs its callback (no state read after it) and counts as corked.
 */
export class UpgradeAnchor {
  private server: UwsWebSocket<unknown> | undefined;
  private client: WebSocket | undefined;
  private closed = false;

  /** Accepts the anchor on the private app (call before it listens). */
  mount(app: TemplatedApp): void {
    app.ws(ANCHOR_PATH, {
      idleTimeout: 0,
      open: (ws) => {
        this.server = ws;
        debug("anchor open");
      },
      close: (ws) => {
        if (this.server === ws) this.server = undefined;
      },
    });
  }

  /** Opens the anchor to the private listener at `socketPath` (again whenever it closes). */
  connect(socketPath: string): void {
    if (this.closed) return;
    const client = new WebSocket(`ws+unix://${socketPath}:${ANCHOR_PATH}`, { perMessageDeflate: false });
    this.client = client;
    client.on("error", (err) => debug("anchor: %s", err.message));
    client.on("close", () => {
      if (this.closed) return;
      setTimeout(() => this.connect(socketPath), RECONNECT_MS).unref();
    });
  }

  /** Runs `fn` with the anchor corked; `false` (and `fn` not run) when there is no anchor. */
  runCorked(fn: () => void): boolean {
    const ws = this.server;
    if (!ws) return false;
    let ran = false;
    try {
      ws.cork(() => {
        ran = true;
        fn();
      });
    } catch (err) {
      if (ran) throw err;
      // closed under us: uWS throws on any access to a closed WebSocket
      debug("anchor unusable: %s", (err as Error).message);
      this.server = undefined;
    }
    return ran;
  }

  close(): void {
    this.closed = true;
    this.client?.terminate();
  }
}
