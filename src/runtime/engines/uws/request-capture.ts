import type { HttpRequest, HttpResponse } from "uWebSockets.js";
import type { GuardedResponse } from "./response-guard";

/**
 * A copy of an HTTP request that outlives its uWS handler. uWS request objects are
 * only valid until the handler returns and body chunks are reused buffers, so a request
 * that is forwarded to another worker or held for later is captured first.
 */
export interface CapturedRequest {
  method: string;
  url: string;
  query: string;
  /** Header names in lower case, as uWS gives them. */
  headers: Array<[string, string]>;
  remoteAddress: string;
  /** The complete body; empty for GET. */
  body: Buffer;
  /** When the request first reached a worker (ms since the epoch, sub-ms precision; every worker shares the clock). */
  arrivedAt: number;
}

/** Now, in ms since the epoch with sub-millisecond precision, comparable between the workers of a machine. */
export const preciseNow = () => performance.timeOrigin + performance.now();

/** Header carrying the client address across a forwarding hop (trusted on the private listener only). */
export const REMOTE_ADDRESS_HEADER = "x-sticky-remote-address";
/** Header counting forwarding hops, so that a request never loops between workers. */
export const HOPS_HEADER = "x-sticky-hops";
/** Header carrying when a forwarded request first reached a worker (see {@link CapturedRequest.arrivedAt}). */
export const ARRIVED_HEADER = "x-sticky-arrived";
export const PRIVATE_HEADER_PREFIX = "x-sticky-";

const VIA_PRIVATE = Symbol("viaPrivate");

/** Marks an upgrade request that came over the private listener (from another worker). */
export function markPrivate(req: object): void {
  (req as { [VIA_PRIVATE]?: true })[VIA_PRIVATE] = true;
}

/** Forwarding hops of an upgrade request: 0 on the public port, whatever a client claims. */
export function hopsOf(req: object & { headers?: Record<string, string | undefined> }): number {
  if (!(req as { [VIA_PRIVATE]?: true })[VIA_PRIVATE]) return 0;
  return Number(req.headers?.[HOPS_HEADER] || "0") || 0;
}

/**
 * Captures `req` synchronously and collects its body. Resolves `undefined` when the
 * client went away or sent more than `maxBody` bytes (then answers 413 itself).
 */
export function captureRequest(
  res: GuardedResponse,
  req: HttpRequest,
  maxBody: number,
  remoteAddress?: string,
): Promise<CapturedRequest | undefined> {
  const headers: Array<[string, string]> = [];
  // on the public port, a client's own copies of the headers workers use between themselves are dropped
  req.forEach((key, value) => (remoteAddress === undefined && key.startsWith(PRIVATE_HEADER_PREFIX) ? undefined : headers.push([key, value])));
  const captured: CapturedRequest = {
    method: req.getMethod().toUpperCase(),
    url: req.getUrl(),
    query: req.getQuery() ?? "",
    headers,
    remoteAddress: remoteAddress ?? Buffer.from(res.getRemoteAddressAsText()).toString(),
    body: Buffer.alloc(0),
    arrivedAt: (remoteAddress !== undefined && Number(req.getHeader(ARRIVED_HEADER))) || preciseNow(),
  };
  if (captured.method === "GET" || captured.method === "HEAD" || captured.method === "OPTIONS") {
    return Promise.resolve(captured);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    res.onAborted(() => resolve(undefined));
    res.onData((chunk, isLast) => {
      // after a 413 the rest of the body still arrives: the response is answered, touch it no more
      if (refused || res.aborted) return;
      size += chunk.byteLength;
      if (size > maxBody) {
        refused = true;
        res.cork(() => res.writeStatus("413 Payload Too Large").end());
        resolve(undefined);
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0))); // copy: uWS reuses the chunk's memory
      if (isLast) {
        captured.body = Buffer.concat(chunks, size);
        resolve(captured);
      }
    });
  });
}

/** The value of a captured header, or `""`. */
export function headerOf(request: CapturedRequest, name: string): string {
  for (const [key, value] of request.headers) if (key === name) return value;
  return "";
}

/**
 * Rebuilds a uWS-like request from a capture, and makes `res.onData` deliver the captured
 * body, so that engine.io's own request handler can serve a request after its handler
 * returned (or one that came over the private listener).
 */
export function replayRequest(captured: CapturedRequest, res: HttpResponse): HttpRequest {
  res.getRemoteAddressAsText = () => toArrayBuffer(Buffer.from(captured.remoteAddress));
  res.onData = (handler) => {
    handler(toArrayBuffer(captured.body), true);
    return res;
  };
  let yielded = false;
  const request = {
    getMethod: () => captured.method.toLowerCase(),
    getCaseSensitiveMethod: () => captured.method,
    getUrl: () => captured.url,
    getQuery: (key?: string) => (key === undefined ? captured.query : new URLSearchParams(captured.query).get(key) ?? undefined),
    getHeader: (name: string) => headerOf(captured, String(name).toLowerCase()),
    forEach: (callback: (key: string, value: string) => void) => {
      for (const [key, value] of captured.headers) callback(key, value);
    },
    getParameter: () => "",
    setYield: (value: boolean) => {
      yielded = value;
      return request;
    },
    get yielded() {
      return yielded;
    },
  };
  return request as unknown as HttpRequest;
}

function toArrayBuffer(buffer: Buffer): ArrayBuffer {
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;
}
