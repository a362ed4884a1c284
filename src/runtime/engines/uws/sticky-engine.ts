import { uServer, type ErrorCallback, type ServerOptions } from "engine.io";
import type { IncomingMessage } from "node:http";
import type { Admission, AdmittedSession } from "../../admission/admission";
import { admitUwsHandshake, refuseOnUws, type UwsEngineRequest } from "../../admission/uws-hook";
import { ConnectionGate } from "./connection-gate";
import type { EngineServer, EngineSocket } from "./engine-internals";
import type { GuardedResponse } from "./response-guard";
import { createSessionId, ownerOf } from "../session-id";
import { closeUpgrade } from "./upgrade-refusal";

/** What the engine needs from the worker's sticky router. */
export interface StickyPeer {
  readonly workerId: number;
  /** Moves session `sid` of `engine` from its owner to this worker; resolves whether it worked. */
  takeOver(engine: StickyUServer, sid: string): Promise<boolean>;
  /** Whether this worker handed session `sid` to another worker. */
  movedAway(sid: string): boolean;
}

type VerifiedRequest = IncomingMessage & { _query: Record<string, string>; [RAW_RESPONSE]?: GuardedResponse };

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
    private readonly admission?: Admission,
  ) {
    super(opts);
    // the window must end before the first heartbeat is due
    this.upgradeWindowMs = Math.min(upgradeWindowMs, Math.floor(this.internals.opts.pingInterval * 0.66));
    this.path = this._computePath(opts);
    this.gate = new ConnectionGate(this.upgradeWindowMs, (socket) => super.emit("connection", socket));
  }

  /** engine.io's internals, typed. */
  get internals(): EngineServer & { emit(event: string, ...args: unknown[]): boolean } {
    return this as unknown as EngineServer & { emit(event: string, ...args: unknown[]): boolean };
  }

  override generateId(): string {
    return createSessionId(this.peer.workerId);
  }

  hasSession(sid: string): boolean {
    return Object.hasOwn(this.internals.clients, sid);
  }

  /** A session that moved here from another worker (see `session-transfer.ts`). */
  adopted(socket: EngineSocket): EngineSocket {
    this.admission?.adopted(socket as unknown as AdmittedSession);
    return socket;
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === "connection") this.admission?.opened(args[0] as AdmittedSession);
    if (event === "connection" && this.shouldHold(args[0] as EngineSocket)) {
      this.gate.hold(args[0] as EngineSocket);
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

  protected override verify(req: VerifiedRequest, upgrade: boolean, fn: ErrorCallback): void | boolean {
    const refused = this.admission?.checkOrigin(req.headers.origin);
    if (refused) return refuseOnUws(req as unknown as UwsEngineRequest, refused);
    const sid = req._query.sid;
    if (!sid && this.admission) {
      return admitUwsHandshake(this.admission, req as unknown as UwsEngineRequest, fn, (callback) =>
        super.verify(req as never, upgrade, callback),
      );
    }
    if (!upgrade || !sid) return super.verify(req as never, upgrade, fn);
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
    void this.peer.takeOver(this, sid).then((moved) => {
      const res = req[RAW_RESPONSE];
      if (!res || res.aborted) return;
      res.cork(() => {
        if (moved) super.verify(req as never, upgrade, fn);
        else if (!closeUpgrade.refuse(req)) fn(BAD_REQUEST, { name: "TAKEOVER_REFUSED", sid });
      });
    });
  }
}
