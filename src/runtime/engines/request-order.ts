import type { EventEmitter } from "node:events";

/** Longest a request that may have overtaken another one waits for it (ms). */
export const ORDER_GRACE_MS = 50;

/** The parts of an engine.io transport this module reads. */
export interface PollingTransportView extends EventEmitter {
  readonly name: string;
  /** For polling: a poll request is pending. */
  readonly writable: boolean;
}

/**
 * Requests that cross a routing hop (a forwarding worker, or the primary handing connections
 * over) can overtake each other. Two orders matter to clients and to the protocol suites:
 * - a poll and a close packet sent together: the poll must be seen first, so that the close
 *   answers it with a noop;
 * - a poll cancelled and sent again: the cancellation must close the session before the new
 *   poll is seen, or the new poll looks like a duplicate.
 * `mayHaveOvertaken` is the cheap test on what is known before the body is read;
 * `overtakenBy` decides with the body and returns the transport event the request should wait
 * for, or `undefined` to serve it now.
 */
export function mayHaveOvertaken(transport: PollingTransportView, method: string, contentLength: string | undefined): boolean {
  if (transport.name !== "polling") return false;
  const verb = method.toUpperCase();
  return verb === "GET" ? transport.writable : verb === "POST" && contentLength === "1" && !transport.writable;
}

export function overtakenBy(transport: PollingTransportView, method: string, body: string): "ready" | "close" | undefined {
  if (transport.name !== "polling") return undefined;
  const verb = method.toUpperCase();
  if (verb === "GET" && transport.writable) return "close";
  if (verb === "POST" && body === CLOSE_PACKET && !transport.writable) return "ready";
  return undefined;
}

const CLOSE_PACKET = "1";

/** Runs `serve` once `transport` emits `event`, or after {@link ORDER_GRACE_MS}. */
export function afterOvertaken(transport: PollingTransportView, event: "ready" | "close", serve: () => void): void {
  const go = () => {
    clearTimeout(timer);
    transport.off(event, go);
    serve();
  };
  const timer = setTimeout(go, ORDER_GRACE_MS);
  transport.once(event, go);
}
