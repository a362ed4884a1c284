import path from "node:path";
import { prettyFactory } from "pino-pretty";

/** A log record as pino writes it (one JSON line). */
export type LogRecord = Record<string, unknown>;

/** Where the runtime can be opened once every worker listens, as a person types it. */
export interface OpenUrlOptions {
  /** TLS is on (`SSL_KEY_FILE` set): `https`. */
  tls: boolean;
}

/**
 * The URL to open for a primary's `listen` record (`{ event: "listen", role: "primary", host, port }`),
 * or `undefined` for any other record. A wildcard address shows as `localhost`.
 */
export function openUrl(record: LogRecord, options: OpenUrlOptions): string | undefined {
  if (record.event !== "listen" || record.role !== "primary" || typeof record.port !== "number") return undefined;
  const bound = typeof record.host === "string" ? record.host : "0.0.0.0";
  const host = bound === "0.0.0.0" || bound === "::" ? "localhost" : bound.includes(":") ? `[${bound}]` : bound;
  return `${options.tls ? "https" : "http"}://${host}:${record.port}/`;
}

/** Fields that say who wrote a record (shown as its `[prefix]`), not what happened. */
const WHO_FIELDS = ["pid", "hostname", "role", "worker", "engine", "app", "event"] as const;

/** `[primary]`, `[worker 3]`, `[dev]`: which process wrote the record. */
function who(record: LogRecord): string {
  if (record.role === "worker") return `worker ${String(record.worker)}`;
  return typeof record.role === "string" ? record.role : "runtime";
}

/**
 * The record without the fields its prefix already says. A primary's record about a worker keeps
 * that worker's id and pid; the start record names the application module rather than `APP`.
 */
function whatHappened(record: LogRecord, appModule: string | undefined): LogRecord {
  const shown: LogRecord = { ...record };
  const aboutWorker = record.role === "primary" && typeof record.event === "string" && record.event.startsWith("worker");
  for (const field of WHO_FIELDS) if (!(aboutWorker && (field === "worker" || field === "pid"))) delete shown[field];
  // a long text the message already says (a dev check's error) is not shown twice
  const message = typeof record.msg === "string" ? record.msg : "";
  for (const [field, value] of Object.entries(shown)) {
    if (field !== "msg" && typeof value === "string" && value.length > 40 && message.includes(value)) delete shown[field];
  }
  if (record.role === "primary" && record.event === "start") shown.app = appModule ? path.relative(process.cwd(), appModule) || appModule : record.app;
  shown.__who = who(record);
  return shown;
}

export interface PrettyOptions extends OpenUrlOptions {
  /** `APP_MODULE`, shown in the start line instead of the built-in `APP`. */
  appModule?: string;
  /** Colours; default: when the terminal supports them (`NO_COLOR`, `FORCE_COLOR` honoured). */
  colorize?: boolean;
}

/**
 * Turns one record (or one JSON line) into human-readable text (pino-pretty: local time, level,
 * `[process]`, message, the other fields on the same line), with the URL to open after the
 * primary's `listen` record. A line that is not JSON is returned as it is.
 */
export function prettifier(options: PrettyOptions): (input: string | LogRecord) => string {
  const format = prettyFactory({
    translateTime: "SYS:HH:MM:ss.l",
    singleLine: true,
    ignore: "__who",
    messageFormat: (log, messageKey) => `[${String(log.__who)}] ${String(log[messageKey] ?? "")}`,
    ...(options.colorize === undefined ? {} : { colorize: options.colorize }),
  });
  return (input) => {
    let record: LogRecord;
    if (typeof input === "string") {
      try {
        record = JSON.parse(input) as LogRecord;
      } catch {
        return input.endsWith("\n") ? input : `${input}\n`;
      }
      if (record === null || typeof record !== "object") return input.endsWith("\n") ? input : `${input}\n`;
    } else {
      record = input;
    }
    const text = format(whatHappened(record, options.appModule));
    const url = openUrl(record, options);
    return url ? `${text}\n  ➜  open ${url}\n\n` : text;
  };
}
