import createDebug from "debug";
import type { Namespace, Server, Socket } from "socket.io";
import type { SocketLimits } from "./installed";
import { limitCounters } from "./limit-counters";
import { INTERNAL_ERROR } from "./handler-faults";

const debug = createDebug("runtime:limits:faults");

type Middleware = (socket: Socket, next: (err?: Error) => void) => unknown;
type Listener = (...args: unknown[]) => unknown;

/** Socket.IO's private namespace member used here (socket.io 4.8). */
interface NamespaceInternals {
  emitReserved(event: string, ...args: unknown[]): boolean;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}

function logFault(limits: SocketLimits, nsp: Namespace, where: string, err: unknown): void {
  limitCounters.handlerErrors++;
  limits.log.error({ event: "handler-error", socketEvent: where, nsp: nsp.name, err }, "connection handler failed");
}

/**
 * A namespace middleware (`io.use`, `nsp.use`) that throws or rejects refuses the connection with
 * `connect_error` "internal error" instead of killing the worker (Socket.IO runs middlewares in
 * the engine's data callback, where a throw is uncaught).
 */
function containMiddleware(nsp: Namespace, middleware: Middleware, limits: SocketLimits): Middleware {
  return (socket, next) => {
    let answered = false;
    const once = (err?: Error) => {
      if (answered) return;
      answered = true;
      next(err);
    };
    const fail = (err: unknown) => {
      logFault(limits, nsp, "middleware", err);
      once(new Error(INTERNAL_ERROR));
    };
    try {
      const result = middleware(socket, once);
      if (isThenable(result)) result.then(undefined, fail);
    } catch (err) {
      fail(err);
    }
  };
}

/**
 * `connect`/`connection` listeners run one by one, each contained: one that throws or rejects is
 * logged and counted, the others still run, the socket stays connected (what its handlers set up
 * is the application's business), and the worker and its other clients are unaffected.
 */
function containConnectionListeners(nsp: Namespace, limits: SocketLimits): void {
  const internals = nsp as unknown as NamespaceInternals;
  const emitReserved = internals.emitReserved;
  internals.emitReserved = function (this: Namespace, event: string, ...args: unknown[]): boolean {
    if (event !== "connect" && event !== "connection") return emitReserved.call(this, event, ...args);
    for (const listener of this.rawListeners(event) as Listener[]) {
      try {
        const result = listener.apply(this, args);
        if (isThenable(result)) result.then(undefined, (err: unknown) => logFault(limits, nsp, event, err));
      } catch (err) {
        logFault(limits, nsp, event, err);
      }
    }
    return true;
  };
}

/** Contains the faults of middlewares and connection listeners on every namespace of `io`. */
export function containConnectionFaults(io: Server, limits: SocketLimits): void {
  const contain = (nsp: Namespace) => {
    containConnectionListeners(nsp, limits);
    const use = nsp.use.bind(nsp);
    nsp.use = (middleware: Middleware) => use(containMiddleware(nsp, middleware, limits));
    debug("faults contained on namespace %s", nsp.name);
  };
  for (const nsp of io._nsps.values()) contain(nsp);
  io.on("new_namespace", contain);
}
