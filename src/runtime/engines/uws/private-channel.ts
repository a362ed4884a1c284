import createDebug from "debug";
import http from "node:http";
import path from "node:path";
import type { HttpRequest, HttpResponse, TemplatedApp } from "uWebSockets.js";
import { captureRequest } from "./request-capture";
import { guardResponse, type GuardedResponse } from "./response-guard";

const debug = createDebug("runtime:uws:private");

/**
 * The private channel between workers: each worker also listens on a Unix socket in the
 * runtime folder the primary created, named after its worker id. Forwarded polling
 * requests and takeover requests travel over it as plain HTTP.
 */
export function privateSocketPath(runtimeDir: string, workerId: number): string {
  return path.join(runtimeDir, `w${workerId}.sock`);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });

export interface PrivateResponse {
  status: number;
  statusMessage: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Error raised when the target worker does not exist (any more). */
export class WorkerUnreachableError extends Error {}

/**
 * Sends one HTTP request to a worker's private listener and collects the answer.
 * `signal` cancels it (the client went away). Rejects with {@link WorkerUnreachableError}
 * when nobody listens at that worker's socket.
 */
export function privateRequest(
  socketPath: string,
  options: { method: string; path: string; headers: http.OutgoingHttpHeaders; body?: Buffer; timeoutMs: number },
  signal?: AbortSignal,
): Promise<PrivateResponse> {
  const deadline = Date.now() + options.timeoutMs;
  let resent = false;
  const attempt = (delayMs: number): Promise<PrivateResponse> =>
    sendPrivateRequest(socketPath, { ...options, timeoutMs: Math.max(1, deadline - Date.now()) }, signal).catch((err: NodeJS.ErrnoException) => {
      if (signal?.aborted) throw err;
      // a kept-alive connection the peer closed as idle (uWS closes them after 10 s) while this
      // request was being written on it: the peer never read it, so it is sent again at once on a
      // new connection (the case Node's `reusedSocket` is for); once only
      if (err instanceof StaleConnectionError && !resent) {
        resent = true;
        debug("kept-alive connection to %s was closed (%s): sending again", socketPath, err.message);
        return attempt(delayMs);
      }
      // a peer's listen queue is full (a reconnection storm): Linux refuses a Unix socket's connect
      // with EAGAIN before anything is sent, so the request is simply made again, a little later
      if (err.code !== "EAGAIN" || Date.now() + delayMs >= deadline) throw err;
      debug("%s is busy (EAGAIN): retrying in %d ms", socketPath, delayMs);
      return new Promise<void>((resolve) => setTimeout(resolve, delayMs)).then(() => attempt(Math.min(delayMs * 2, 50)));
    });
  return attempt(5);
}

/** Errors of a request written on a kept-alive connection the peer had just closed. */
const STALE_CONNECTION = new Set(["ECONNRESET", "EPIPE"]);

/** A request failed on a reused connection before any answer: the peer had closed it (see `privateRequest`). */
class StaleConnectionError extends Error {}

function sendPrivateRequest(
  socketPath: string,
  options: { method: string; path: string; headers: http.OutgoingHttpHeaders; body?: Buffer; timeoutMs: number },
  signal?: AbortSignal,
): Promise<PrivateResponse> {
  return new Promise((resolve, reject) => {
    let responded = false;
    const req = http.request(
      { socketPath, agent, method: options.method, path: options.path, headers: options.headers, signal },
      (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 502,
            statusMessage: res.statusMessage ?? "",
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on("error", reject);
      },
    );
    req.setTimeout(options.timeoutMs, () => req.destroy(new Error("private request timed out")));
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT" || err.code === "ECONNREFUSED") reject(new WorkerUnreachableError(err.message));
      else if (req.reusedSocket && !responded && STALE_CONNECTION.has(err.code ?? "")) reject(new StaleConnectionError(err.code));
      else reject(err);
    });
    req.end(options.body);
  });
}

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
