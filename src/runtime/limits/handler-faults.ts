import createDebug from "debug";
import { Socket } from "socket.io";
import { eventNameOf, limitsOf, type PublicSocket, type SocketInternals, type SocketLimits } from "./installed";
import { LimitError } from "./limit-error";
import { limitCounters } from "./limit-counters";

const debug = createDebug("runtime:limits:faults");

export const INTERNAL_ERROR = "internal error";

/**
 * An application handler of `event` threw or rejected with `err`: logged (with the event name),
 * counted, and the acknowledgement, if any and not answered yet, gets `{ ok: false, error }`
 * (`"internal error"`, or a {@link LimitError}'s message).
 */
export function reportFault(socket: PublicSocket, event: unknown[], err: unknown, limits: SocketLimits): void {
  limitCounters.handlerErrors++;
  const name = eventNameOf(event);
  const limit = err instanceof LimitError;
  const fields = { event: "handler-error", socketEvent: name, nsp: socket.nsp.name, sid: socket.id, err };
  if (limit) limits.log.warn(fields, "event handler refused by a limit");
  else limits.log.error(fields, "event handler failed");
  const ack = event[event.length - 1];
  if (typeof ack === "function") {
    try {
      // Socket.IO's acknowledgements ignore a second answer
      ack({ ok: false, error: limit ? err.message : INTERNAL_ERROR });
    } catch (ackErr) {
      debug("cannot answer the acknowledgement: %s", (ackErr as Error).message);
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}

/** Calls every listener of `event[0]` like EventEmitter does, each one contained. */
function callListeners(socket: SocketInternals, event: unknown[], limits: SocketLimits): void {
  // an EVENT packet without data (`42`) has no name: nothing listens (and rawListeners(undefined) throws)
  if (typeof event[0] !== "string" && typeof event[0] !== "number") return;
  const listeners = socket.rawListeners(event[0] as string) as ((...args: unknown[]) => unknown)[];
  const args = event.slice(1);
  for (const listener of listeners) {
    try {
      const result = listener.apply(socket, args);
      if (isThenable(result)) result.then(undefined, (err: unknown) => reportFault(socket, event, err, limits));
    } catch (err) {
      reportFault(socket, event, err, limits);
    }
  }
}

let installed = false;

/**
 * Contains application faults on every socket of a server with limits: an event handler that
 * throws or returns a rejected promise, and a middleware (`socket.use`) that throws synchronously
 * (both would otherwise be uncaught in Socket.IO's `process.nextTick` and kill the worker).
 * Socket.IO 4.8's private `dispatch` is replaced; other listeners still run when one throws.
 */
export function containHandlerFaults(): void {
  if (installed) return;
  installed = true;
  const proto = Socket.prototype as unknown as SocketInternals;
  const dispatch = proto.dispatch;
  proto.dispatch = function (this: SocketInternals, event: unknown[]) {
    const limits = limitsOf(this);
    if (!limits) return dispatch.call(this, event);
    try {
      this.run(event, (err) => {
        process.nextTick(() => {
          if (err) return this._onerror(err);
          if (this.connected) callListeners(this, event, limits);
          else debug("event after disconnection ignored");
        });
      });
    } catch (err) {
      reportFault(this, event, err, limits);
    }
  };
}
