import type { HttpResponse } from "uWebSockets.js";

/**
 * A uWS response with the two things uWS does not give us:
 * - several `onAborted` handlers (uWS keeps only the last one registered, and engine.io,
 *   its transports and our router each want one), plus an `aborted` flag to check after
 *   every asynchronous step;
 * - a `Connection: close` response header when `shouldClose()` says so at the time the status is
 *   written: when the request asked for it (this uWS build closes the TCP connection after such
 *   a response without saying so, and a keep-alive client then reuses a dead socket), or while
 *   the worker drains (so that keep-alive clients move to another worker).
 */
export interface GuardedResponse extends HttpResponse {
  readonly aborted: boolean;
}

const GUARDED = Symbol("guarded");

/** Installs the guard on `res` (once) and returns it. Call synchronously in the route handler. */
export function guardResponse(res: HttpResponse, shouldClose: () => boolean = never): GuardedResponse {
  const target = res as HttpResponse & { [GUARDED]?: true; aborted: boolean };
  if (target[GUARDED]) return target;
  target[GUARDED] = true;
  target.aborted = false;

  const handlers: Array<() => void> = [];
  res.onAborted(() => {
    target.aborted = true;
    for (const handler of handlers.splice(0)) handler();
  });
  target.onAborted = (handler: () => void) => {
    handlers.push(handler);
    return target;
  };

  if (shouldClose !== never) addConnectionClose(target, shouldClose);
  return target;
}

const never = () => false;

function addConnectionClose(res: HttpResponse, shouldClose: () => boolean): void {
  let statusWritten = false;
  const writeStatus = res.writeStatus.bind(res);
  const writeHeader = res.writeHeader.bind(res);
  const end = res.end.bind(res);
  const tryEnd = res.tryEnd.bind(res);
  const ensureStatus = () => {
    if (!statusWritten) res.writeStatus("200 OK");
  };
  res.writeStatus = (status) => {
    statusWritten = true;
    writeStatus(status);
    if (shouldClose()) writeHeader("Connection", "close");
    return res;
  };
  res.writeHeader = (key, value) => {
    ensureStatus();
    return writeHeader(key, value);
  };
  res.end = (body, closeConnection) => {
    ensureStatus();
    return end(body, closeConnection);
  };
  res.tryEnd = (body, totalSize) => {
    ensureStatus();
    return tryEnd(body, totalSize);
  };
}

/** Whether a request's `Connection` header asks to close the connection after the response. */
export function wantsClose(connectionHeader: string): boolean {
  return connectionHeader !== "" && /(^|,)\s*close\s*(,|$)/i.test(connectionHeader);
}
