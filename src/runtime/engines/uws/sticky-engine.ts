import { uServer, type ErrorCallback, type ServerOptions } from "engine.io";
import type { IncomingMessage } from "node:http";
import type { Admission, AdmittedSession } from "../../admission/worker";
import { refusalBody, refusalHeaders, type Refusal } from "../../admission/refusal";
import { upgradeWindowFor } from "../../../config/upgrade-window";
import { ConnectionGate } from "./connection-gate";
import type { EngineServerInternals, EngineSocket } from "../../sockets/internals";
import type { GuardedResponse } from "./response-guard";
import { createSessionId, ownerOf } from "../session-id";
import { hopsOf } from "./request-capture";
import { closeUpgrade, dropUpgradeStash } from "./upgrade-refusal";
import { clockHandshakes, watchPingDeadline } from "../ping-deadlines";

/** What the engine needs from the worker's sticky router. */
export interface StickyPeer {
  readonly workerId: number;
  /** Moves session `sid` of `engine` from its owner to this worker; resolves whether it worked. */
  takeOver(engine: StickyUServer, sid: string): Promise<boolean>;
  /** Whether this worker handed session `sid` to another worker. */
  movedAway(sid: string): boolean;
  /** Relays the upgrade of a session that cannot move to the worker that has it; `false` when it cannot. */
  relayUpgrade(req: object, sid: string): boolean;
  /** Whether a handshake may open a session here (not draining, not held). */
  readonly takesNewSessions: boolean;
}

/** A request as engine.io's uWS server made it (`prepare()`), when `verify()` gets it. */
type VerifiedRequest = Omit<IncomingMessage, "headers"> & {
  headers: Record<string, string | undefined>;
  _query: Record<string, string>;
  /** The (guarded) uWS response, for polling requests and upgrades alike. */
  res?: GuardedResponse;
  [RAW_RESPONSE]?: GuardedResponse;
};

/** What engine.io's uWS server keeps of the client connection (`prepare()`): its address. */
const peerOf = (req: VerifiedRequest) => req.connection as unknown as { remoteAddress: string };

/** Answers a refused polling request or WebSocket upgrade (instead of upgrading); corked. */
function refuse(req: VerifiedRequest, refusal: Refusal): void {
  const res = req.res;
  if (!res || res.aborted) return;
  res.cork(() => {
    res.writeStatus(`${refusal.status} ${refusal.statusText}`);
    for (const [key, value] of Object.entries(refusalHeaders(refusal))) res.writeHeader(key, value);
    res.end(refusalBody(refusal));
  });
}

/** A handshake (a WebSocket-only client's) that reaches a worker taking no new session: 503, the client tries again. */
function refuseUnavailable(req: VerifiedRequest): void {
  const res = req.res;
  if (!res || res.aborted) return;
  res.cork(() => {
    res.writeStatus("503 Service Unavailable").writeHeader("content-type", "text/plain; charset=utf-8").end("no new sessions here\n");
  });
}

/** Where the router leaves the guarded uWS response on an upgrade request. */
export const RAW_RESPONSE = Symbol("rawResponse");

const BAD_REQUEST = 3;

/**
 * engine.io's uWS server with the three hooks sticky routing needs:
 * - session ids name this worker ({@link createSessionId});
 * - a WebSocket upgrade for a session owned by another worker takes the session over
 *   before engine.io's own upgrade path runs;
 * - new polling sessions are held back from the application by a {@link ConnectionGate}.
 */
export class StickyUServer extends uServer {
  readonly gate: ConnectionGate;
  private readonly upgradeWindowMs: number;
  /** The path this engine serves, e.g. `/socket.io/`. */
  readonly path: string;

  constructor(
    opts: ServerOptions & { path: string },
    private readonly peer: StickyPeer,
    upgradeWindowMs: number,
    /** Origin allowlist, client address and per-address limits (`src/runtime/admission/`). */
    private readonly admission: Admission,
  ) {
    super(opts);
    // the window must end before the first heartbeat is due: `loadConfig` fits UPGRADE_WINDOW to
    // PING_INTERVAL; an application's own Socket.IO options may set a shorter pingInterval
    this.upgradeWindowMs = upgradeWindowFor({ upgradeWindow: upgradeWindowMs }, this.internals.opts.pingInterval);
    this.path = this._computePath(opts);
    this.gate = new ConnectionGate(this.upgradeWindowMs, (socket) => super.emit("connection", socket));
    clockHandshakes(this);
  }

  /** engine.io's internals, typed. */
  get internals(): EngineServerInternals {
    return this as unknown as EngineServerInternals;
  }

  override generateId(): string {
    return createSessionId(this.peer.workerId);
  }

  hasSession(sid: string): boolean {
    return Object.hasOwn(this.internals.clients, sid);
  }

  /** A session that moved here from another worker (see `session-transfer.ts`). */
  adopted(socket: EngineSocket): EngineSocket {
    this.admission.adopted(socket as unknown as AdmittedSession);
    return socket;
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event !== "connection") return super.emit(event, ...args);
    const session = args[0] as EngineSocket;
    this.admission.opened(session as unknown as AdmittedSession);
    // before the gate holds it: its heartbeat started with the handshake
    watchPingDeadline(session, this.opts);
    // a WebSocket-first session's upgrade was verified: what a refusal would have needed goes
    if (session.transport.name === "websocket") dropUpgradeStash(session.request);
    if (this.shouldHold(session)) {
      this.gate.hold(session);
      return true;
    }
    return super.emit(event, ...args);
  }

  private shouldHold(socket: EngineSocket): boolean {
    return (
      this.upgradeWindowMs > 0 &&
      socket.transport.name === "polling" &&
      (this.opts.transports ?? []).includes("websocket")
    );
  }

  protected override verify(engineRequest: Parameters<uServer["verify"]>[0], upgrade: boolean, fn: ErrorCallback): void | boolean {
    const req = engineRequest as unknown as VerifiedRequest;
    const refused = this.admission.checkOrigin(req.headers.origin);
    if (refused) return refuse(req, refused);
    const sid = req._query.sid;
    if (!sid && !this.peer.takesNewSessions) return refuseUnavailable(req);
    if (!sid) {
      return this.admission.handshake(
        { peer: peerOf(req).remoteAddress, forwardedFor: req.headers["x-forwarded-for"], carrier: req },
        fn,
        (callback) => super.verify(req as never, upgrade, callback),
        {
          refuse: (refusal) => refuse(req, refusal),
          resume: (proceed) => {
            const res = req.res;
            if (res && !res.aborted) res.cork(proceed);
          },
          // the session (and a snapshot of it, should it move to another worker) takes it from here
          setAddress: (address) => {
            peerOf(req).remoteAddress = address;
          },
        },
      );
    }
    if (!upgrade) return super.verify(req as never, upgrade, fn);
    if (this.hasSession(sid)) {
      const session = this.internals.clients[sid]!;
      // a second WebSocket for a session that has (or is getting) one: accept, then close it
      if ((session.upgraded || session.upgrading) && closeUpgrade.refuse(req)) return;
      return super.verify(req as never, upgrade, fn);
    }
    // the session lives on (another worker took it over): this WebSocket is a duplicate
    if (this.peer.movedAway(sid) && closeUpgrade.refuse(req)) return;
    const owner = ownerOf(sid);
    if (owner === undefined || owner === this.peer.workerId) return super.verify(req as never, upgrade, fn);
    // relayed here by another worker, for a session that is not here (any more): no second hop
    if (hopsOf(req) > 0 && closeUpgrade.refuse(req)) return;
    void this.peer.takeOver(this, sid).then((moved) => {
      const res = req[RAW_RESPONSE];
      if (!res || res.aborted) return;
      res.cork(() => {
        if (moved) super.verify(req as never, upgrade, fn);
        // the session cannot move (the application has it): its WebSocket goes to it, relayed
        else if (!this.peer.relayUpgrade(req, sid) && !closeUpgrade.refuse(req)) fn(BAD_REQUEST, { name: "TAKEOVER_REFUSED", sid });
      });
    });
  }
}
