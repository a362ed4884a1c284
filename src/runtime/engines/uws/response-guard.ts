import createDebug from "debug";
import type { HttpResponse } from "uWebSockets.js";
import type { UpgradeAnchor } from "./upgrade-anchor";

const debug = createDebug("runtime:uws:guard");

/**
 * A uWS response with what uWS does not give us:
 * - several `onAborted` handlers (uWS keeps only the last one registered, and engine.io,
 *   its transports and our router each want one), plus an `aborted` flag to check after
 *   every asynchronous step;
 * - a response that is spent (aborted, ended, closed or upgraded) ignores every later call
 *   instead of throwing: uWS throws on any access to such a response, and a throw in a timer or
 *   an I/O callback takes the whole worker down. engine.io 6.6.13's uWS polling transport does
 *   this: a POST body refused with 413 (over `maxHttpBufferSize`, or too many chunks) leaves its
 *   body timer armed, and 30 s later the timer writes `408` to the finished response;
 * - upgrades done on a turn of their own, with another socket corked (see `ignoreWhenSpent`);
 * - a `Connection: close` response header when `shouldClose()` says so at the time the status is
 *   written: when the request asked for it (this uWS build closes the TCP connection after such
 *   a response without saying so, and a keep-alive client then reuses a dead socket), or while
 *   the worker drains (so that keep-alive clients move to another worker).
 */
export interface GuardedResponse extends HttpResponse {
  readonly aborted: boolean;
  /** Ended, closed or upgraded: nothing more is written to it. */
  readonly finished: boolean;
}

const GUARDED = Symbol("guarded");

/** Corks another socket while upgrades run (set by the worker once its private app listens). */
let upgradeAnchor: Pick<UpgradeAnchor, "runCorked"> | undefined;

export function useUpgradeAnchor(anchor: Pick<UpgradeAnchor, "runCorked"> | undefined): void {
  upgradeAnchor = anchor;
}

type Mutable = HttpResponse & { [GUARDED]?: true; aborted: boolean; finished: boolean };

/** Installs the guard on `res` (once) and returns it. Call synchronously in the route handler. */
export function guardResponse(res: HttpResponse, shouldClose: () => boolean = never): GuardedResponse {
  const target = res as Mutable;
  if (target[GUARDED]) return target;
  target[GUARDED] = true;
  target.aborted = false;
  target.finished = false;

  const handlers: Array<() => void> = [];
  res.onAborted(() => {
    target.aborted = true;
    for (const handler of handlers.splice(0)) handler();
  });
  target.onAborted = (handler: () => void) => {
    handlers.push(handler);
    return target;
  };

  ignoreWhenSpent(target);
  if (shouldClose !== never) addConnectionClose(target, shouldClose);
  return target;
}

const never = () => false;

/** Makes every call on a spent response a no-op (see {@link GuardedResponse}). */
function ignoreWhenSpent(res: Mutable): void {
  const spent = (what: string) => {
    if (!res.aborted && !res.finished) return false;
    debug("%s on a response already %s: ignored", what, res.aborted ? "aborted" : "finished");
    return true;
  };
  const writeStatus = res.writeStatus.bind(res);
  const writeHeader = res.writeHeader.bind(res);
  const write = res.write.bind(res);
  const end = res.end.bind(res);
  const endWithoutBody = res.endWithoutBody.bind(res);
  const tryEnd = res.tryEnd.bind(res);
  const close = res.close.bind(res);
  const cork = res.cork.bind(res);
  const upgrade = res.upgrade.bind(res);
  res.writeStatus = (status) => (spent("writeStatus") ? res : (writeStatus(status), res));
  res.writeHeader = (key, value) => (spent("writeHeader") ? res : (writeHeader(key, value), res));
  res.write = (chunk) => (spent("write") ? true : write(chunk));
  res.end = (body, closeConnection) => {
    if (spent("end")) return res;
    res.finished = true;
    end(body, closeConnection);
    return res;
  };
  res.endWithoutBody = (length, closeConnection) => {
    if (spent("endWithoutBody")) return res;
    res.finished = true;
    endWithoutBody(length, closeConnection);
    return res;
  };
  res.tryEnd = (body, totalSize) => {
    if (spent("tryEnd")) return [true, true];
    const result = tryEnd(body, totalSize);
    if (result[1]) res.finished = true;
    return result;
  };
  res.close = () => {
    if (spent("close")) return res;
    res.finished = true;
    close();
    return res;
  };
  // a spent response cannot be corked; the callback still runs (its writes are ignored)
  res.cork = (cb) => {
    if (res.aborted || res.finished) cb();
    else cork(cb);
    return res;
  };
  // Upgrades run on a turn of their own, with another socket corked (see `upgrade-anchor.ts`):
  // - this uWS build's cork() reads the response's state after its callback; when the callback
  //   upgraded the socket in place, it reads the WebSocket's memory as that state, may find
  //   "Connection: close" there and closes the new WebSocket at once (uNetworking/uWebSockets#1928,
  //   fixed upstream by #1929); and an upgrade outside a cork prints a warning to stderr;
  // - uWS hands a WebSocket upgraded while it parses another connection's request (promise
  //   callbacks run at the end of every uWS.js handler) that connection's bytes.
  res.upgrade = (...args: Parameters<HttpResponse["upgrade"]>) => {
    if (spent("upgrade")) return;
    res.finished = true;
    setImmediate(() => {
      if (res.aborted) return debug("upgrade of an aborted response: ignored");
      if (!upgradeAnchor?.runCorked(() => cork(() => upgrade(...args)))) upgrade(...args);
    });
  };
}

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
