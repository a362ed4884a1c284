import createDebug from "debug";
import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t, WebSocketBehavior } from "uWebSockets.js";
import { routingCounters } from "../routing-counters";
import { forwardRequest } from "./forwarder";
import { callPeer, privateSocketPath, servePeerCall } from "./private-channel";
import {
  captureRequest,
  headerOf,
  HOPS_HEADER,
  hopsOf,
  markPrivate,
  preciseNow,
  REMOTE_ADDRESS_HEADER,
  replayRequest,
  type CapturedRequest,
} from "./request-capture";
import { guardResponse, wantsClose, type GuardedResponse } from "./response-guard";
import type { EngineTransport } from "../../sockets/internals";
import { ownerOf } from "../session-id";
import { afterOvertaken, mayHaveOvertaken, overtakenBy } from "../request-order";
import { attachSession, detachSession, type SessionSnapshot } from "./session-transfer";
import { RAW_RESPONSE, type StickyPeer, type StickyUServer } from "./sticky-engine";
import { closeUpgrade, stashUpgrade } from "./upgrade-refusal";
import { UpgradeRelays } from "./ws-relay";

const debug = createDebug("runtime:uws:sticky");

type RequestHandler = (res: HttpResponse, req: HttpRequest) => void;
type UpgradeHandler = (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => void;

/** A forwarded request never takes more hops than owner → new owner. */
const MAX_HOPS = 2;

interface Route {
  engine: StickyUServer;
  /** engine.io's own request handler, as `engine.attach()` registered it. */
  handle: RequestHandler;
}

export interface StickyRouterOptions {
  workerId: number;
  runtimeDir: string;
  maxHttpBufferSize: number;
  /** Longest a forwarded long-poll may wait for its answer (ms). */
  pollTimeoutMs: number;
  /** How long a worker remembers where a session moved (ms, refreshed on use). */
  movedTtlMs: number;
}

/**
 * Sticky sessions for engine.io on uWebSockets.js, inside each worker (see README, "Sticky
 * sessions"). Session ids name their owner; a polling request for another worker's session is
 * forwarded to it over the private channel; a WebSocket upgrade for another worker's session
 * takes the session over (while the application has not seen it yet), so that after the upgrade
 * no frame of that client crosses processes.
 */
export class StickyRouter implements StickyPeer {
  readonly workerId: number;
  private readonly routes = new Map<string, Route>();
  /** Sessions this worker handed over: sid → new owner, with an expiry refreshed on use. */
  private readonly moved = new Map<string, { workerId: number; expires: number }>();
  /** Sessions being taken over → requests held until the takeover settles. */
  private readonly pending = new Map<string, Array<() => void>>();
  private readonly sweeper: NodeJS.Timeout;
  /** Requests this worker forwarded and still waits on. */
  private readonly forwarding = new Set<{ enginePath: string; sid: string; target: number; method: string }>();
  /** Set when the worker drains: every HTTP response closes its connection. */
  draining = false;
  /** Takes no new session yet (see `ClusterPlan.held`). */
  held = false;

  /** Whether a handshake may open a session here. */
  get takesNewSessions(): boolean {
    return !this.draining && !this.held;
  }
  /** When each polling session's pending poll first reached a worker, and whether it came through another (see {@link dispatch}). */
  private readonly pollArrivals = new WeakMap<EngineTransport, { at: number; forwarded: boolean }>();
  /** WebSockets relayed to their session's owner (see `ws-relay.ts`). */
  private readonly relays = new UpgradeRelays();
  /** The private app (forwarded requests, takeovers, relayed WebSockets). */
  private privateApp: TemplatedApp | undefined;

  constructor(private readonly options: StickyRouterOptions) {
    this.workerId = options.workerId;
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, options.movedTtlMs / 2)).unref();
  }

  /**
   * An app-like object to pass to `engine.attach()`: it registers engine.io's handlers on the
   * public app wrapped by this router, and remembers them for the private listener.
   */
  interceptor(app: TemplatedApp, engine: StickyUServer): TemplatedApp {
    const proxy = {
      any: (pattern: string, handler: RequestHandler) => {
        this.routes.set(pattern, { engine, handle: handler });
        app.any(pattern, (res, req) => this.onPublicRequest({ engine, handle: handler }, res, req));
        return proxy;
      },
      ws: (pattern: string, behavior: WebSocketBehavior<unknown>) => {
        const upgrade = behavior.upgrade as UpgradeHandler;
        const open = behavior.open;
        const relays = this.relays;
        const wrapped = (private_: boolean): WebSocketBehavior<unknown> => ({
          ...behavior,
          upgrade: (res, req, context) => {
            const guarded = guardResponse(res);
            // a WebSocket relayed by another worker: the client's address came with it
            if (private_) {
              guarded.getRemoteAddressAsText = () => toArrayBuffer(req.getHeader(REMOTE_ADDRESS_HEADER));
              markPrivate(req);
            }
            stashUpgrade(req, guarded, context);
            (req as unknown as { [RAW_RESPONSE]: GuardedResponse })[RAW_RESPONSE] = guarded;
            upgrade(guarded, req, context);
          },
          open: (ws) => {
            if (closeUpgrade.isRefused(ws)) return closeUpgrade.close(ws);
            if (relays.isRelay(ws)) return relays.open(ws);
            open?.(ws);
          },
          message: (ws, message, isBinary) => {
            if (relays.isRelay(ws)) return relays.message(ws, message, isBinary);
            if (!closeUpgrade.isRefused(ws)) behavior.message?.(ws, message, isBinary);
          },
          close: (ws, code, message) => {
            if (relays.isRelay(ws)) return relays.close(ws, code, message);
            if (!closeUpgrade.isRefused(ws)) behavior.close?.(ws, code, message);
          },
        });
        app.ws(pattern, wrapped(false));
        this.privateApp?.ws(pattern, wrapped(true));
        return proxy;
      },
    };
    return proxy as unknown as TemplatedApp;
  }

  /** Registers the private listener's routes (forwarded requests and takeovers) on `app`. */
  mountPrivate(app: TemplatedApp): void {
    this.privateApp = app;
    servePeerCall(app, "takeover", (body, res) => this.handOver(body as { path?: string; sid?: string; to?: number }, res));
    servePeerCall(app, "flush", (body, res) => this.flush(body as { path?: string; sid?: string }, res));
    app.any("/*", (res, req) => {
      const guarded = guardResponse(res);
      const route = this.routes.get(req.getUrl());
      if (!route) {
        guarded.writeStatus("404 Not Found").end();
        return;
      }
      const remote = req.getHeader(REMOTE_ADDRESS_HEADER);
      void captureRequest(guarded, req, this.options.maxHttpBufferSize, remote).then(
        (captured) => captured && this.dispatch(route, captured, guarded),
      );
    });
  }

  private onPublicRequest(route: Route, res: HttpResponse, req: HttpRequest): void {
    const closeAsked = wantsClose(req.getHeader("connection"));
    const guarded = guardResponse(res, () => closeAsked || this.draining);
    const sid = new URLSearchParams(req.getQuery() ?? "").get("sid");
    if (!sid && !this.takesNewSessions) {
      // a keep-alive connection still reaches a draining worker, or the previous generation still
      // holds the port: no new session here (the client tries again)
      guarded.writeStatus("503 Service Unavailable").writeHeader("content-type", "text/plain").end(this.draining ? "draining\n" : "starting\n");
      return;
    }
    if (!sid || (route.engine.hasSession(sid) && !this.mayRace(route, sid, req.getMethod(), req.getHeader("content-length")))) {
      if (sid && this.refusedOverlap(route, sid, req.getMethod(), guarded)) return;
      if (sid && req.getMethod() === "get") this.pollArrivals.set(route.engine.internals.clients[sid]!.transport, { at: preciseNow(), forwarded: false });
      route.handle(guarded, req);
      return;
    }
    void captureRequest(guarded, req, this.options.maxHttpBufferSize).then(
      (captured) => captured && this.dispatch(route, captured, guarded),
    );
  }

  /** Serves a captured request: here, after a pending takeover, or at the session's owner. */
  private dispatch(route: Route, request: CapturedRequest, res: GuardedResponse, pendingChecked = false): void {
    if (res.aborted) return;
    const sid = new URLSearchParams(request.query).get("sid");
    // served after the uWS handler returned: writes must be corked explicitly
    const serveHere = () => {
      res.cork(() => {
        if (!sid || !this.refusedOverlap(route, sid, request.method, res)) route.handle(res, replayRequest(request, res));
      });
    };
    if (!sid) return serveHere();
    if (route.engine.hasSession(sid)) {
      const transport = route.engine.internals.clients[sid]!.transport;
      const forwarded = Number(headerOf(request, HOPS_HEADER) || "0") > 0;
      const servePoll = () => {
        if (request.method === "GET" && !transport.writable) this.pollArrivals.set(transport, { at: request.arrivedAt, forwarded });
        serveHere();
      };
      const wait = overtakenBy(transport, request.method, request.body.toString());
      if (wait === "close") {
        // two polls at once (a client's bug, or a test of one): the one sent later is the duplicate.
        // When this one reached a worker first and the pending one overtook it on the way here, the
        // pending one is refused instead, as it would have been without the hop. Where one of the
        // two came through another worker, the times compared are each worker's, taken when its
        // event loop got to the request: on a busy machine a delay longer than the gap between
        // the two polls reverses them, and nothing here can tell (counted, for `/stats`).
        const pending = this.pollArrivals.get(transport);
        const refusesPending = request.arrivedAt < (pending?.at ?? Infinity);
        // Before the pending poll is refused as the later one, its connection gets the chance to
        // say that the client cancelled it: a client cancels a poll and sends a new one through
        // another worker; when this worker was kept off the CPU, it reads the cancelled poll and the
        // forwarded one in the same turn, and the cancellation (the connection's end, already
        // in the kernel) only on its next read of that connection. Then the session closes first.
        if (refusesPending && !pendingChecked) return afterNextRead(() => this.dispatch(route, request, res, true));
        if (forwarded || pending?.forwarded) routingCounters.overlappingPollsAcrossHop++;
        if (refusesPending) return this.refusePendingPoll(transport, servePoll);
      }
      if (wait) return afterOvertaken(transport, wait, servePoll);
      return servePoll();
    }

    const waiters = this.pending.get(sid);
    if (waiters) {
      waiters.push(() => this.dispatch(route, request, res));
      return;
    }
    const target = this.targetOf(sid, Number(headerOf(request, HOPS_HEADER) || "0"));
    if (target === undefined) return serveHere(); // engine.io answers "Session ID unknown"
    const entry = { enginePath: route.engine.path, sid, target, method: request.method };
    this.forwarding.add(entry);
    void forwardRequest(request, res, privateSocketPath(this.options.runtimeDir, target), this.options.pollTimeoutMs)
      .then((delivered) => {
        if (delivered || res.aborted) return;
        this.moved.delete(sid);
        serveHere(); // the owner is gone: answer as engine.io answers an unknown session
      })
      .finally(() => this.forwarding.delete(entry));
  }

  /**
   * Refuses the pending poll of `transport` as the duplicate it is (400: the client's fault; engine.io
   * itself answers 500), serves the earlier poll in its place, then closes the session as engine.io
   * does on an overlap: the earlier poll gets the close packet.
   */
  private refusePendingPoll(transport: EngineTransport, serve: () => void): void {
    const late = transport.res as GuardedResponse | undefined;
    debug("a poll overtook an earlier one of its session on the way: the later one is refused");
    transport.req?.cleanup?.();
    transport.writable = false;
    if (late && !late.aborted) late.cork(() => late.writeStatus("400 Bad Request").end("duplicate poll"));
    serve();
    transport.onError("overlap from client");
  }

  /**
   * A request that overlaps one of its session's (a poll while one is pending, a data POST while
   * one is being received: a client's fault, or a fuzzer's) is answered 400 and the session closed,
   * as engine.io does, except that engine.io's uWS transport answers 500 (a server error) to it.
   * Call with writes corked. `true` when it answered.
   */
  private refusedOverlap(route: Route, sid: string, method: string, res: GuardedResponse): boolean {
    const transport = route.engine.internals.clients[sid]?.transport;
    if (transport?.name !== "polling") return false;
    const verb = method.toUpperCase();
    if (verb === "GET" ? !transport.req : verb !== "POST" || !transport.dataReq) return false;
    debug("overlapping %s of session %s: 400, the session closes", verb, sid);
    res.writeStatus("400 Bad Request").writeHeader("content-type", "text/plain; charset=utf-8").end("overlapping request\n");
    transport.onError(verb === "GET" ? "overlap from client" : "data request overlap from client");
    return true;
  }

  /** Whether a request for a local session must be captured to check its order (see `request-order.ts`). */
  private mayRace(route: Route, sid: string, method: string, contentLength: string): boolean {
    return mayHaveOvertaken(route.engine.internals.clients[sid]!.transport, method, contentLength);
  }

  /** The worker a request for `sid` must go to, or `undefined` to answer it here. */
  private targetOf(sid: string, hops: number): number | undefined {
    if (hops >= MAX_HOPS) return undefined;
    const moved = this.moved.get(sid);
    if (moved) {
      moved.expires = Date.now() + this.options.movedTtlMs;
      return moved.workerId;
    }
    const owner = ownerOf(sid);
    return owner === undefined || owner === this.workerId ? undefined : owner;
  }

  movedAway(sid: string): boolean {
    return this.moved.has(sid);
  }

  /**
   * Relays the WebSocket upgrade `req` of session `sid` to the worker that has the session (see
   * `ws-relay.ts`); `false` when there is none to relay to (or the client is gone).
   */
  relayUpgrade(req: object & { connection?: { remoteAddress?: string }; headers?: Record<string, string | undefined> }, sid: string): boolean {
    const hops = hopsOf(req);
    const target = this.targetOf(sid, hops);
    if (target === undefined) return false;
    debug("relaying the WebSocket of %s to worker %d", sid, target);
    return this.relays.accept(req, privateSocketPath(this.options.runtimeDir, target), req.connection?.remoteAddress ?? "", hops);
  }

  async takeOver(engine: StickyUServer, sid: string): Promise<boolean> {
    const owner = ownerOf(sid);
    if (owner === undefined || this.pending.has(sid)) return false;
    this.pending.set(sid, []);
    let moved = false;
    try {
      const answer = await callPeer(this.options.runtimeDir, owner, "takeover", { path: engine.path, sid, to: this.workerId });
      if (answer.status === 200) {
        engine.adopted(attachSession(engine.internals, engine.gate, JSON.parse(answer.body.toString()) as SessionSnapshot));
        moved = true;
      }
    } catch (err) {
      debug("takeover of %s failed: %s", sid, (err as Error).message);
    } finally {
      const waiters = this.pending.get(sid) ?? [];
      this.pending.delete(sid);
      if (moved) routingCounters.takeovers++;
      else routingCounters.takeoversRefused++;
      for (const resume of waiters) resume();
    }
    return moved;
  }

  /** Another worker asks for a session its WebSocket reached: detach it and send its snapshot. */
  private handOver(ask: { path?: string; sid?: string; to?: number } | undefined, res: GuardedResponse): void {
    const route = ask?.path === undefined ? undefined : this.routes.get(ask.path);
    const to = ask?.to;
    const snapshot =
      route && typeof ask?.sid === "string" && Number.isInteger(to)
        ? detachSession(route.engine.internals, route.engine.gate, ask.sid)
        : undefined;
    if (!snapshot) {
      res.writeStatus("409 Conflict").end();
      return;
    }
    this.moved.set(snapshot.sid, { workerId: to as number, expires: Date.now() + this.options.movedTtlMs });
    routingCounters.handovers++;
    res.writeStatus("200 OK").writeHeader("content-type", "application/json").end(JSON.stringify(snapshot));
  }

  /** Forwarded requests still waiting for their answer, and relayed WebSockets still open. */
  inFlight(): number {
    return this.forwarding.size + this.relays.count;
  }

  /**
   * Starts draining: responses close their connections from now on, and the owners of the
   * long-polls this worker forwards answer them now (with a noop), so that their clients send
   * the next poll on a new connection, to a worker that stays.
   */
  startDraining(): void {
    this.draining = true;
    this.relays.closeAll();
    for (const entry of this.forwarding) {
      if (entry.method !== "GET") continue;
      callPeer(this.options.runtimeDir, entry.target, "flush", { path: entry.enginePath, sid: entry.sid }).catch(
        (err: unknown) => debug("flush of %s failed: %s", entry.sid, (err as Error).message),
      );
    }
  }

  /** Another worker drains: answer the pending poll of a session now, with a noop. */
  private flush(ask: { path?: string; sid?: string } | undefined, res: GuardedResponse): void {
    const engine = ask?.path === undefined ? undefined : this.routes.get(ask.path)?.engine;
    const session = engine && typeof ask?.sid === "string" && engine.hasSession(ask.sid) ? engine.internals.clients[ask.sid] : undefined;
    if (session?.transport.name === "polling" && session.transport.writable) session.transport.send([{ type: "noop" }]);
    res.writeStatus("204 No Content").end();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [sid, entry] of this.moved) if (entry.expires < now) this.moved.delete(sid);
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}

/**
 * Runs `fn` once the event loop has read its sockets again: requests are served while the loop
 * reads (its poll phase); the first check phase after it comes before the next read, the second
 * after it.
 */
function afterNextRead(fn: () => void): void {
  setImmediate(() => setImmediate(fn));
}

function toArrayBuffer(text: string): ArrayBuffer {
  const buffer = Buffer.from(text);
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;
}
