import createDebug from "debug";
import type { BaseServer, ErrorCallback } from "engine.io";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Admission, AdmittedSession } from "./admission";
import { refusalBody, refusalHeaders, type Refusal } from "./refusal";

const debug = createDebug("runtime:admission:node");

type VerifyCallback = ErrorCallback;
type NodeEngineRequest = IncomingMessage & { _query: Record<string, string>; res?: ServerResponse };
type Verify = (req: NodeEngineRequest, upgrade: boolean, fn: VerifyCallback) => void;

/** Answers a refused polling request, or a WebSocket upgrade on its raw socket (instead of upgrading). */
function refuse(req: NodeEngineRequest, upgrade: boolean, refusal: Refusal): void {
  const body = refusalBody(refusal);
  if (!upgrade) {
    const res = req.res;
    if (!res || res.headersSent || res.writableEnded) return;
    res.writeHead(refusal.status, { ...refusalHeaders(refusal), "content-length": Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  const socket = req.socket;
  if (!socket.writable) return void socket.destroy();
  const headers = Object.entries({ ...refusalHeaders(refusal), "content-length": String(Buffer.byteLength(body)), connection: "close" })
    .map(([key, value]) => `${key}: ${value}\r\n`)
    .join("");
  socket.end(`HTTP/1.1 ${refusal.status} ${refusal.statusText}\r\n${headers}\r\n${body}`, () => socket.destroy());
}

/**
 * Admission control on an engine.io server of the Node engine, in its `verify()` (it runs for
 * every polling request and upgrade, after the middlewares): the origin allowlist for every
 * request; for a handshake (no `sid`), after engine.io's own checks, the client address and the
 * per-address limits. The session a handshake creates takes its address and slot (`connection`).
 */
export function admitOnNodeEngine(engine: BaseServer, admission: Admission): void {
  const internals = engine as unknown as { verify: Verify };
  const verify = internals.verify.bind(engine) as Verify;
  internals.verify = (req, upgrade, fn) => {
    const refused = admission.checkOrigin(req.headers.origin);
    if (refused) return refuse(req, upgrade, refused);
    if (req._query.sid) return verify(req, upgrade, fn);
    const forwarded = req.headers["x-forwarded-for"];
    const address = admission.clientAddress(req.socket.remoteAddress ?? "", Array.isArray(forwarded) ? forwarded.join(",") : forwarded);
    verify(req, upgrade, (code, context) => {
      if (code !== undefined) return fn(code, context);
      if (!admission.limited) {
        admission.mark(req, address);
        return fn();
      }
      admission
        .admit(address)
        .then((refusal) => {
          if (refusal) return refuse(req, upgrade, refusal);
          admission.lease(req, address);
          if (!req.socket.destroyed) fn();
        })
        .catch((err: unknown) => debug("handshake from %s failed: %s", address, (err as Error).message));
    });
  };
  engine.prependListener("connection", (session: AdmittedSession) => admission.opened(session));
}
