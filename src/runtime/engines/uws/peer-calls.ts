import type { HttpRequest, HttpResponse, TemplatedApp } from "uWebSockets.js";
import { privateRequest, privateSocketPath, type PrivateResponse } from "./private-channel";
import { captureRequest } from "./request-capture";
import { guardResponse, type GuardedResponse } from "./response-guard";

/**
 * The calls workers make to each other over the private channel, besides forwarded requests:
 * JSON in, status (and JSON) out.
 */
export const PEER_CALLS = {
  /** Hand session `{ path, sid }` over to worker `to`: 200 with its snapshot, or 409. */
  takeover: "/__sticky/takeover",
  /** Answer the pending poll of session `{ path, sid }` now, with a noop: 204. */
  flush: "/__sticky/flush",
} as const;

const MAX_BODY = 64 * 1024;

/** Calls `call` on worker `workerId` with `body`. */
export function callPeer(
  runtimeDir: string,
  workerId: number,
  call: keyof typeof PEER_CALLS,
  body: unknown,
): Promise<PrivateResponse> {
  return privateRequest(privateSocketPath(runtimeDir, workerId), {
    method: "POST",
    path: PEER_CALLS[call],
    headers: { "content-type": "application/json" },
    body: Buffer.from(JSON.stringify(body)),
    timeoutMs: 2000,
  });
}

/**
 * Serves `call` on the private app: `handle` gets the parsed body (or `undefined` when it is not
 * JSON) and answers with the guarded response, corked.
 */
export function servePeerCall(
  app: TemplatedApp,
  call: keyof typeof PEER_CALLS,
  handle: (body: unknown, res: GuardedResponse) => void,
): void {
  app.post(PEER_CALLS[call], (res: HttpResponse, req: HttpRequest) => {
    const guarded = guardResponse(res);
    void captureRequest(guarded, req, MAX_BODY).then((captured) => {
      if (!captured || guarded.aborted) return;
      let body: unknown;
      try {
        body = JSON.parse(captured.body.toString());
      } catch {
        body = undefined;
      }
      guarded.cork(() => handle(body, guarded));
    });
  });
}
