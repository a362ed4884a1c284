import createDebug from "debug";
import type { WebSocket as UwsWebSocket } from "uWebSockets.js";
import WebSocket from "ws";
import { routingCounters } from "../routing-counters";
import { HOPS_HEADER, PRIVATE_HEADER_PREFIX, REMOTE_ADDRESS_HEADER } from "./request-capture";
import { stashOf } from "./upgrade-refusal";

const debug = createDebug("runtime:uws:relay");

/** uWS copies user data by string keys only. */
const RELAY = "__stickyRelay";

/** Where a relayed WebSocket goes: the owner's private listener, with the client's request. */
interface RelayTarget {
  socketPath: string;
  /** Path and query of the upgrade request. */
  url: string;
  headers: Record<string, string>;
}

interface RelayState {
  upstream?: WebSocket;
  /** Client frames that arrived before the upstream opened. */
  queued: Array<{ data: Buffer; isBinary: boolean }>;
  closed: boolean;
}

/** Headers of the client's upgrade that are its own connection's, never relayed. */
const OWN = new Set(["host", "connection", "upgrade", "content-length", "transfer-encoding"]);

/**
 * WebSocket upgrades relayed to the worker that owns their session. When a client's WebSocket
 * reaches another worker after its session was handed to the application on its owner (the
 * upgrade window ended: a slow network, a busy machine), the session cannot move; rather than
 * leaving the client on HTTP long-polling for good, the worker accepts the WebSocket and relays its
 * frames, both ways, to a WebSocket it opens to the owner's private listener, where engine.io
 * upgrades the session as usual. Only such clients pay the hop; the owner decides (it refuses an
 * upgrade the session cannot take, and the relay closes).
 */
export class UpgradeRelays {
  private readonly states = new Map<UwsWebSocket<unknown>, RelayState>();

  /** Accepts the upgrade of `req` as a relay to `socketPath`; `false` when the client is gone. */
  accept(req: object & { url?: string; _query?: Record<string, string>; headers?: Record<string, string | undefined> }, socketPath: string, remoteAddress: string, hops: number): boolean {
    const stash = stashOf(req);
    if (!stash) return false;
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(req.headers ?? {})) {
      // a client's own copies of the workers' headers are dropped (the hop sets its own)
      if (value !== undefined && !OWN.has(key) && !key.startsWith("sec-websocket-") && !key.startsWith(PRIVATE_HEADER_PREFIX)) headers[key] = value;
    }
    headers[REMOTE_ADDRESS_HEADER] = remoteAddress;
    headers[HOPS_HEADER] = String(hops + 1);
    const target: RelayTarget = { socketPath, url: `${req.url ?? "/"}?${new URLSearchParams(req._query ?? {}).toString()}`, headers };
    stash.res.cork(() => stash.res.upgrade({ [RELAY]: target }, stash.key, stash.protocol, stash.extensions, stash.context));
    routingCounters.relayedUpgrades++;
    return true;
  }

  isRelay(ws: UwsWebSocket<unknown>): boolean {
    return RELAY in (ws.getUserData() as object);
  }

  open(ws: UwsWebSocket<unknown>): void {
    const target = (ws.getUserData() as { [RELAY]: RelayTarget })[RELAY];
    const state: RelayState = { queued: [], closed: false };
    this.states.set(ws, state);
    debug("relaying a WebSocket to %s (%s)", target.socketPath, target.url);
    const upstream = new WebSocket(`ws+unix://${target.socketPath}:${target.url}`, { headers: target.headers, perMessageDeflate: false });
    state.upstream = upstream;
    upstream.on("unexpected-response", (_req, res) => debug("relay of %s refused upstream: %d", target.url, res.statusCode));
    upstream.on("open", () => {
      debug("relay of %s open upstream", target.url);
      for (const frame of state.queued.splice(0)) upstream.send(frame.data, { binary: frame.isBinary });
    });
    upstream.on("message", (data: Buffer, isBinary: boolean) => {
      if (!state.closed) ws.send(data, isBinary);
    });
    upstream.on("close", (code, reason) => {
      debug("relay of %s closed upstream: %d %s", target.url, code, reason.toString());
      this.end(ws, state);
    });
    upstream.on("error", (err) => {
      debug("relay upstream: %s", err.message);
      this.end(ws, state);
    });
  }

  message(ws: UwsWebSocket<unknown>, message: ArrayBuffer, isBinary: boolean): void {
    const state = this.states.get(ws);
    if (!state || state.closed) return;
    const data = Buffer.from(message.slice(0)); // copy: uWS reuses the message's memory
    if (state.upstream?.readyState === WebSocket.OPEN) state.upstream.send(data, { binary: isBinary });
    else state.queued.push({ data, isBinary });
  }

  /** The client's WebSocket closed: so does the upstream one. */
  close(ws: UwsWebSocket<unknown>, code?: number, message?: ArrayBuffer): void {
    const state = this.states.get(ws);
    this.states.delete(ws);
    if (!state || state.closed) return;
    debug("relayed client closed (%s): %d %s", state.upstream?.url, code, message ? Buffer.from(message).toString() : "");
    state.closed = true;
    state.upstream?.close();
  }

  /** Closes every relay (the worker drains: the clients reconnect elsewhere). */
  closeAll(): void {
    for (const [ws, state] of this.states) this.end(ws, state);
  }

  get count(): number {
    return this.states.size;
  }

  /** The upstream closed (or failed): the client's WebSocket is closed. */
  private end(ws: UwsWebSocket<unknown>, state: RelayState): void {
    if (state.closed) return;
    state.closed = true;
    this.states.delete(ws);
    try {
      ws.end(1000);
    } catch {
      // already closed
    }
    state.upstream?.terminate();
  }
}
