import pino from "pino";
import type { Config } from "../config/settings";
import { lineWriter } from "./stdout";

/** A structured logger (pino, one JSON line per record). */
export type Logger = pino.Logger;

/**
 * Whether this process writes human-readable lines rather than JSON: `LOG_FORMAT=pretty`, or
 * `auto` (the default) with stdout on a terminal.
 */
export function writesPrettyLogs(format: Config["logFormat"]): boolean {
  return format === "pretty" || (format === "auto" && process.stdout.isTTY === true);
}

/** The settings the logger follows. */
export type LogSettings = Pick<Config, "logLevel" | "logFormat" | "sslKeyFile" | "appModule">;

/**
 * Creates the process logger. `role` is `primary` or `worker`; `worker` carries the
 * worker's id so that every line says where it came from. JSON lines on stdout, or pino-pretty's
 * readable lines when {@link writesPrettyLogs} (written synchronously, like the JSON ones).
 */
export function createLogger(settings: LogSettings, bindings: Record<string, unknown>): Logger {
  const options = { level: settings.logLevel, base: { pid: process.pid, ...bindings } };
  if (!writesPrettyLogs(settings.logFormat)) return pino(options, lineWriter(1));
  // pino-pretty is loaded only for a terminal (or LOG_FORMAT=pretty): production writes JSON
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { prettifier } = require("./pretty") as typeof import("./pretty");
  const pretty = prettifier({ tls: settings.sslKeyFile !== undefined, appModule: settings.appModule });
  return pino(options, { write: (line: string) => void process.stdout.write(pretty(line)) });
}
