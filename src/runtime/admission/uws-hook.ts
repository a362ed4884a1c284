import createDebug from "debug";
import type { ErrorCallback } from "engine.io";
import type { GuardedResponse } from "../engines/uws/response-guard";
import type { Admission } from "./admission";
import { refusalBody, refusalHeaders, type Refusal } from "./refusal";

const debug = createDebug("runtime:admission:uws");

type VerifyCallback = ErrorCallback;

/** What engine.io's uWS server made of a request (`prepare()`), as `verify()` gets it. */
export interface UwsEngineRequest {
  headers: Record<string, string>;
  _query: Record<string, string>;
  connection: { remoteAddress: string };
  /** The (guarded) uWS response, for polling requests and upgrades alike. */
  res?: GuardedResponse;
}

/** Answers a refused polling request or WebSocket upgrade (instead of upgrading); corked. */
export function refuseOnUws(req: UwsEngineRequest, refusal: Refusal): void {
  const res = req.res;
  if (!res || res.aborted) return;
  res.cork(() => {
    res.writeStatus(`${refusal.status} ${refusal.statusText}`);
    for (const [key, value] of Object.entries(refusalHeaders(refusal))) res.writeHeader(key, value);
    res.end(refusalBody(refusal));
  });
}

/**
 * Admission of a uWS handshake (a request without `sid`, polling or upgrade): sets the client
 * address engine.io's session takes, runs engine.io's own checks (`verify`), then asks for a
 * slot; the handshake goes on (`fn()`, corked) or is answered with the refusal.
 */
export function admitUwsHandshake(
  admission: Admission,
  req: UwsEngineRequest,
  fn: VerifyCallback,
  verify: (callback: VerifyCallback) => void,
): void {
  const address = admission.clientAddress(req.connection.remoteAddress, req.headers["x-forwarded-for"]);
  req.connection.remoteAddress = address;
  if (!admission.limited) return void verify(fn);
  verify((code, context) => {
    if (code !== undefined) return fn(code, context);
    admission
      .admit(address)
      .then((refusal) => {
        if (refusal) return refuseOnUws(req, refusal);
        admission.lease(req, address);
        const res = req.res;
        if (res && !res.aborted) res.cork(() => fn());
      })
      .catch((err: unknown) => debug("handshake from %s failed: %s", address, (err as Error).message));
  });
}
