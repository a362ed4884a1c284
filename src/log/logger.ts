import pino from "pino";

/** A structured logger (pino, one JSON line per record). */
export type Logger = pino.Logger;

/**
 * Creates the process logger. `role` is `primary` or `worker`; `worker` carries the
 * worker's id so that every line says where it came from.
 */
export function createLogger(level: string, bindings: Record<string, unknown>): Logger {
  return pino({ level, base: { pid: process.pid, ...bindings } });
}
