import createDebug from "debug";
import type { OutgoingHttpHeaders } from "node:http";
import { routingCounters } from "../routing-counters";
import { ARRIVED_HEADER, HOPS_HEADER, REMOTE_ADDRESS_HEADER, headerOf, type CapturedRequest } from "./request-capture";
import type { GuardedResponse } from "./response-guard";
import { privateRequest, WorkerUnreachableError } from "./private-channel";

const debug = createDebug("runtime:uws:forward");

/** Headers that belong to one connection and never cross a proxy (RFC 9110 §7.6.1), plus ours. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "content-length",
  "host",
  REMOTE_ADDRESS_HEADER,
  HOPS_HEADER,
  ARRIVED_HEADER,
]);

/** Errors of Node's HTTP client about the request itself (characters it does not send). */
const UNSENDABLE = new Set(["ERR_UNESCAPED_CHARACTERS", "ERR_INVALID_CHAR", "ERR_INVALID_HTTP_TOKEN", "ERR_HTTP_INVALID_HEADER_VALUE"]);

/** Engine.IO packets in a polling payload (they are separated by the record separator). */
function countPackets(payload: Buffer): number {
  if (payload.length === 0) return 0;
  let count = 1;
  for (let i = 0; i < payload.length; i++) if (payload[i] === 0x1e) count++;
  return count;
}

/**
 * Forwards a captured polling request to the worker listening at `socketPath` and writes its
 * answer to `res`. Resolves `false` (having written nothing) when that worker is unreachable,
 * so that the caller can answer as engine.io answers an unknown session.
 */
export async function forwardRequest(
  request: CapturedRequest,
  res: GuardedResponse,
  socketPath: string,
  timeoutMs: number,
): Promise<boolean> {
  const headers: OutgoingHttpHeaders = {};
  for (const [key, value] of request.headers) if (!HOP_BY_HOP.has(key)) headers[key] = value;
  headers[REMOTE_ADDRESS_HEADER] = request.remoteAddress;
  headers[HOPS_HEADER] = String(Number(headerOf(request, HOPS_HEADER) || "0") + 1);
  headers[ARRIVED_HEADER] = String(request.arrivedAt);
  if (request.body.length > 0) headers["content-length"] = String(request.body.length);

  const controller = new AbortController();
  res.onAborted(() => {
    if (request.method === "GET") routingCounters.cancelledForwardedPolls++;
    controller.abort();
  });
  routingCounters.forwardedRequests++;
  routingCounters.relayedFrames += countPackets(request.body);
  debug("forward %s %s?%s to %s", request.method, request.url, request.query, socketPath);
  try {
    const answer = await privateRequest(
      socketPath,
      {
        method: request.method,
        path: request.query ? `${request.url}?${request.query}` : request.url,
        headers,
        body: request.body,
        timeoutMs,
      },
      controller.signal,
    );
    if (res.aborted) return true;
    if (request.method === "GET" && answer.status === 200) routingCounters.relayedFrames += countPackets(answer.body);
    res.cork(() => {
      res.writeStatus(`${answer.status} ${answer.statusMessage}`);
      for (const [key, value] of Object.entries(answer.headers)) {
        if (HOP_BY_HOP.has(key) || key === "date" || key === "uwebsockets" || value === undefined) continue;
        for (const item of Array.isArray(value) ? value : [value]) res.writeHeader(key, item);
      }
      res.end(answer.body);
    });
    return true;
  } catch (err) {
    if (err instanceof WorkerUnreachableError) return false;
    debug("forward failed: %s", (err as Error).message);
    if (res.aborted) return true;
    // a URL or header that uWS let through but Node's client refuses to send: the client's fault
    if (UNSENDABLE.has((err as NodeJS.ErrnoException).code ?? "")) res.cork(() => res.writeStatus("400 Bad Request").end("bad request"));
    else res.cork(() => res.writeStatus("502 Bad Gateway").end("owner worker did not answer"));
    return true;
  }
}
