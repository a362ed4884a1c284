import createDebug from "debug";
import type { HttpResponse, RecognizedString } from "uWebSockets.js";
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

/** Corks another socket while upgrades run (set by the worker once its private app listens). */
let upgradeAnchor: Pick<UpgradeAnchor, "runCorked"> | undefined;

export function useUpgradeAnchor(anchor: Pick<UpgradeAnchor, "runCorked"> | undefined): void {
  upgradeAnchor = anchor;
}

const GUARDED = Symbol("guarded");
/** The `onAborted` handlers registered on a guarded response (uWS keeps only one). */
const HANDLERS = Symbol("abortHandlers");
/** Set when responses close their connection on condition: the condition. */
const SHOULD_CLOSE = Symbol("shouldClose");
const STATUS_WRITTEN = Symbol("statusWritten");

type Mutable = HttpResponse & {
  [GUARDED]?: true;
  aborted: boolean;
  finished: boolean;
  [HANDLERS]: Array<() => void> | undefined;
  [SHOULD_CLOSE]: (() => boolean) | undefined;
  [STATUS_WRITTEN]: boolean;
};

/**
 * Installs the guard on `res` (once) and returns it. Call synchronously in the route handler.
 *
 * The guard's methods live on one prototype shared by every guarded response (inserted between
 * the response and uWS's own prototype), so a guarded response costs a few fields and one
 * `onAborted` closure, not a closure per method: an upgraded WebSocket keeps its upgrade's
 * response for as long as it lives (engine.io keeps the request, and the request its response).
 */
export function guardResponse(res: HttpResponse, shouldClose?: () => boolean): GuardedResponse {
  const target = res as Mutable;
  if (target[GUARDED]) return target;
  const native = Object.getPrototypeOf(res) as HttpResponse;
  Object.setPrototypeOf(res, guardedPrototypeOf(native));
  target.aborted = false;
  target.finished = false;
  target[HANDLERS] = undefined;
  target[SHOULD_CLOSE] = shouldClose;
  target[STATUS_WRITTEN] = false;
  native.onAborted.call(res, () => {
    target.aborted = true;
    const handlers = target[HANDLERS];
    target[HANDLERS] = undefined;
    if (handlers) for (const handler of handlers) handler();
  });
  return target;
}

/** The guard's prototype above each uWS response prototype (plain and TLS responses have their own). */
const guardedPrototypes = new Map<HttpResponse, HttpResponse>();

function guardedPrototypeOf(native: HttpResponse): HttpResponse {
  let guarded = guardedPrototypes.get(native);
  if (!guarded) {
    guarded = createGuardedPrototype(native);
    guardedPrototypes.set(native, guarded);
  }
  return guarded;
}

/** Whether `res` is spent (aborted or finished): then a call on it is ignored, and logged. */
function spent(res: Mutable, what: string): boolean {
  if (!res.aborted && !res.finished) return false;
  debug("%s on a response already %s: ignored", what, res.aborted ? "aborted" : "finished");
  return true;
}

/** With a close condition, a status is written before any header or body (so that the condition is asked). */
function ensureStatus(res: Mutable): void {
  if (res[SHOULD_CLOSE] && !res[STATUS_WRITTEN]) res.writeStatus("200 OK");
}

/**
 * The guard's methods over uWS's `native` ones (see {@link GuardedResponse}): every call on a
 * spent response is a no-op (uWS would throw); with a close condition, writing the status adds
 * `Connection: close` when the condition holds.
 */
function createGuardedPrototype(native: HttpResponse): HttpResponse {
  const methods: ThisType<Mutable> & { [GUARDED]: true } & Partial<Record<keyof HttpResponse, unknown>> = {
    [GUARDED]: true,
    onAborted(handler: () => void) {
      (this[HANDLERS] ??= []).push(handler);
      return this;
    },
    writeStatus(status: RecognizedString) {
      this[STATUS_WRITTEN] = true;
      if (spent(this, "writeStatus")) return this;
      native.writeStatus.call(this, status);
      if (this[SHOULD_CLOSE]?.()) native.writeHeader.call(this, "Connection", "close");
      return this;
    },
    writeHeader(key: RecognizedString, value: RecognizedString) {
      ensureStatus(this);
      if (!spent(this, "writeHeader")) native.writeHeader.call(this, key, value);
      return this;
    },
    write(chunk: RecognizedString) {
      return spent(this, "write") ? true : native.write.call(this, chunk);
    },
    end(body?: RecognizedString, closeConnection?: boolean) {
      ensureStatus(this);
      if (spent(this, "end")) return this;
      this.finished = true;
      native.end.call(this, body, closeConnection);
      return this;
    },
    endWithoutBody(length?: number, closeConnection?: boolean) {
      if (spent(this, "endWithoutBody")) return this;
      this.finished = true;
      native.endWithoutBody.call(this, length, closeConnection);
      return this;
    },
    tryEnd(body: RecognizedString, totalSize: number): [boolean, boolean] {
      ensureStatus(this);
      if (spent(this, "tryEnd")) return [true, true];
      const result = native.tryEnd.call(this, body, totalSize);
      if (result[1]) this.finished = true;
      return result;
    },
    close() {
      if (spent(this, "close")) return this;
      this.finished = true;
      native.close.call(this);
      return this;
    },
    // a spent response cannot be corked; the callback still runs (its writes are ignored)
    cork(cb: () => void) {
      if (this.aborted || this.finished) cb();
      else native.cork.call(this, cb);
      return this;
    },
    // Upgrades run on a turn of their own, with another socket corked (see `upgrade-anchor.ts`):
    // - this uWS build's cork() reads the response's state after its callback; when the callback
    //   upgraded the socket in place, it reads the WebSocket's memory as that state, may find
    //   "Connection: close" there and closes the new WebSocket at once (uNetworking/uWebSockets#1928,
    //   fixed upstream by #1929); and an upgrade outside a cork prints a warning to stderr;
    // - uWS hands a WebSocket upgraded while it parses another connection's request (promise
    //   callbacks run at the end of every uWS.js handler) that connection's bytes.
    upgrade(...args: Parameters<HttpResponse["upgrade"]>) {
      if (spent(this, "upgrade")) return;
      this.finished = true;
      setImmediate(() => {
        if (this.aborted) return debug("upgrade of an aborted response: ignored");
        const upgrade = () => native.upgrade.apply(this, args);
        if (!upgradeAnchor?.runCorked(() => native.cork.call(this, upgrade))) upgrade();
        // the connection is a WebSocket now: its abort handlers will never run (engine.io keeps this response)
        this[HANDLERS] = undefined;
      });
    },
  };
  return Object.assign(Object.create(native) as HttpResponse, methods);
}

/** Whether a request's `Connection` header asks to close the connection after the response. */
export function wantsClose(connectionHeader: string): boolean {
  return connectionHeader !== "" && /(^|,)\s*close\s*(,|$)/i.test(connectionHeader);
}
