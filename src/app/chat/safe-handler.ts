import type { Logger } from "../../log/logger";
import type { Ack, InputError } from "./events";
import type { ChatSocket } from "./context";

/**
 * Wraps an event handler so that neither a thrown error nor a rejected promise escapes: a bad
 * payload or a failing dependency never takes the worker down.
 */
export function safe<A extends unknown[]>(log: Logger, event: string, handler: (...args: A) => unknown): (...args: A) => void {
  return (...args: A) => {
    try {
      const result = handler(...args);
      if (result instanceof Promise) result.catch((err: unknown) => log.error({ err, event }, "handler failed"));
    } catch (err) {
      log.error({ err, event }, "handler failed");
    }
  };
}

/** The acknowledgement function, if the client sent one. */
export function ackOf<T extends object>(candidate: unknown): Ack<T> | undefined {
  return typeof candidate === "function" ? (candidate as Ack<T>) : undefined;
}

/** Refuses a request: through its acknowledgement if there is one, otherwise with `inputError`. */
export function refuse(socket: ChatSocket, event: string, reason: string, ack: Ack | undefined): void {
  if (ack) ack({ ok: false, error: reason });
  else socket.emit("inputError", { event, reason } satisfies InputError);
}
