import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { z } from "zod";

/**
 * Runtime configuration, read from environment variables and validated at start.
 *
 * Every option has a documented default; an invalid value stops the process with
 * one line naming the variable, the value and what is allowed (see {@link loadConfig}).
 */
export interface Config {
  /** `PORT`: TCP port every worker listens on. Default `3000`. */
  port: number;
  /** `HOST`: address to bind. Default `0.0.0.0`. */
  host: string;
  /** `WORKERS`: number of worker processes. Default: the number of cores. */
  workers: number;
  /** `ENGINE`: `uws` (uWebSockets.js) or `node` (Node's http server). Default `uws`. */
  engine: "uws" | "node";
  /**
   * `CORS_ORIGIN`: `*`, or a comma-separated list of allowed origins. Default: unset,
   * no CORS headers (pages served by this server need none).
   */
  corsOrigin: string[] | "*" | undefined;
  /** `PING_INTERVAL`: Engine.IO heartbeat interval in ms. Default `25000`. */
  pingInterval: number;
  /** `PING_TIMEOUT`: Engine.IO heartbeat timeout in ms. Default `20000`. */
  pingTimeout: number;
  /** `MAX_HTTP_BUFFER_SIZE`: largest accepted message / polling body in bytes. Default `1000000`. */
  maxHttpBufferSize: number;
  /** `LOG_LEVEL`: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`. Default `info`. */
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** `METRICS`: `on` serves `GET /metrics` (Prometheus, every process), `off` does not count. Default `on`. */
  metrics: boolean;
  /**
   * `ADMIN_UI_PASSWORD`: switches on `@socket.io/admin-ui` (namespace `/admin`, user `admin`, UI
   * files at `/admin-ui/`) with this password, or its bcrypt hash. Default: unset, no admin UI.
   */
  adminUiPassword: string | undefined;
  /** `APP`: the built-in application to run (`chat`, `echo`, `conformance`). Default `chat`. */
  app: string;
  /**
   * `APP_MODULE`: path of a JavaScript module exporting an `Application` (as `default` or
   * `application`) to run instead of a built-in one. Default: unset.
   */
  appModule: string | undefined;
  /**
   * `UPGRADE_WINDOW`: how long (ms) a new polling session waits for its WebSocket upgrade
   * before the application sees it, so that the session can move to the worker the
   * WebSocket reached. Kept below two thirds of the ping interval. Default `1000`.
   */
  upgradeWindow: number;
  /** `SHUTDOWN_TIMEOUT`: ms a worker may take to drain before it is killed. Default `10000`. */
  shutdownTimeout: number;
  /**
   * `AUTH_TOKENS`: comma-separated tokens; when set, every namespace of the built-in application
   * requires one (`auth.token` or the `token` query parameter). Default: unset, open.
   */
  authTokens: string[];
  /**
   * `RECOVERY_WINDOW`: connection state recovery, in ms: a client cut off for less than this
   * (its worker killed or replaced included) reconnects to any worker with the same id and rooms
   * and gets every broadcast it missed. `0` turns it off. Default `120000`.
   */
  recoveryWindow: number;
  /** `RECOVERY_MAX_PACKETS`: most broadcasts kept for recovery, per namespace. Default `100000`. */
  recoveryMaxPackets: number;
  /** `PUBLIC_DIR`: folder served as static files. Default: the project's `public/`. */
  publicDir: string;
  /**
   * `ADAPTER`: `cluster` (one machine: the primary relays broadcasts and holds the shared state and
   * recovery log) or `redis` (several machines: every worker uses Redis, see docs/multi-machine.md).
   * Default `cluster`.
   */
  adapter: "cluster" | "redis";
  /** `REDIS_URL`: the Redis server with `ADAPTER=redis`. Default `redis://127.0.0.1:6379`. */
  redisUrl: string;
  /**
   * `TRUST_PROXY`: comma-separated addresses of reverse proxies (exact IPs, CIDR ranges such as
   * `10.0.0.0/8`, `loopback` for 127.0.0.0/8 and ::1) whose `X-Forwarded-For` names the client:
   * the client is then the right-most entry that is not a trusted proxy. Default: unset, the
   * address of the TCP peer is the client's and `X-Forwarded-For` is ignored.
   */
  trustProxy: string[];
  /**
   * `MAX_CONNECTIONS_PER_IP`: most Engine.IO sessions open at once from one client address, across
   * the cluster. `0` turns the cap off. Default `1000`.
   */
  maxConnectionsPerIp: number;
  /**
   * `CONNECTION_RATE`: new sessions per second one client address may open (token bucket, refilled
   * continuously). `0` turns the limit off. Default `20`.
   */
  connectionRate: number;
  /** `CONNECTION_BURST`: new sessions one client address may open at once (bucket size). Default `100`. */
  connectionBurst: number;
  /**
   * `EVENT_RATE`: events per second one socket may send (token bucket); over it the event is
   * dropped and answered with an error (ack or `error` event). `0` turns the limit off. Default `100`.
   */
  eventRate: number;
  /** `EVENT_BURST`: events one socket may send at once (bucket size). Default `200`. */
  eventBurst: number;
  /** `MAX_ROOMS_PER_SOCKET`: most rooms one socket may be in (its own id room included). Default `100`. */
  maxRoomsPerSocket: number;
  /**
   * `MAX_EVENT_SIZE`: largest event a client may send, in bytes (JSON arguments and binary
   * attachments together); larger events are refused with an error. Default `1000000`.
   */
  maxEventSize: number;
  /**
   * `MAX_BACKLOG`: bytes waiting to be sent to one client (a WebSocket's backpressure, or a polling
   * session's buffered packets) before it is disconnected as a slow consumer (it reconnects and
   * recovers what it missed). Default `4194304` (4 MiB).
   */
  maxBacklog: number;
  /**
   * `SSL_KEY_FILE` and `SSL_CERT_FILE`: PEM files of the private key and certificate; when
   * `SSL_KEY_FILE` is set (it then needs `SSL_CERT_FILE`) the server speaks HTTPS and WSS only (uWS
   * `SSLApp`, Node `https`). `SSL_CERT_FILE` alone is ignored (OpenSSL's CA-bundle variable, often set
   * system-wide). Default: unset, plain HTTP.
   */
  sslKeyFile: string | undefined;
  /** `SSL_CERT_FILE`: see {@link Config.sslKeyFile}. */
  sslCertFile: string | undefined;
  /** `SSL_PASSPHRASE`: passphrase of an encrypted `SSL_KEY_FILE`. Default: unset. */
  sslPassphrase: string | undefined;
}

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `an integer from ${min} to ${max}`).max(max, `an integer from ${min} to ${max}`));

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Environment variable → parser; each parser's message says what is allowed. */
const schema = {
  PORT: int(1, 65535),
  HOST: z.string().min(1, "a host name or IP address"),
  WORKERS: int(1, 1024),
  ENGINE: z.enum(["uws", "node"], "uws or node"),
  CORS_ORIGIN: z.string().min(1, "* or a comma-separated list of origins"),
  PING_INTERVAL: int(50, 3_600_000),
  PING_TIMEOUT: int(50, 3_600_000),
  MAX_HTTP_BUFFER_SIZE: int(1, 1_073_741_824),
  LOG_LEVEL: z.enum(LOG_LEVELS, LOG_LEVELS.join(", ")),
  METRICS: z.enum(["on", "off"], "on or off"),
  ADMIN_UI_PASSWORD: z
    .string()
    .refine((s) => s.length >= 8 && Buffer.byteLength(s) <= 72, "8 characters to 72 bytes, or a bcrypt hash"),
  APP: z.string().regex(/^[a-z][a-z0-9-]*$/, "an application name such as chat"),
  UPGRADE_WINDOW: int(0, 60_000),
  SHUTDOWN_TIMEOUT: int(100, 600_000),
  PUBLIC_DIR: z.string().min(1, "a folder path"),
  RECOVERY_WINDOW: int(0, 86_400_000),
  RECOVERY_MAX_PACKETS: int(1, 100_000_000),
  APP_MODULE: z.string().min(1, "a path to a JavaScript module"),
  ADAPTER: z.enum(["cluster", "redis"], "cluster or redis"),
  REDIS_URL: z.string().regex(/^rediss?:\/\/\S+$/, "a redis:// or rediss:// URL"),
  TRUST_PROXY: z
    .string()
    .regex(/^(loopback|[0-9a-fA-F.:]+(\/\d{1,3})?)(,(loopback|[0-9a-fA-F.:]+(\/\d{1,3})?))*$/, "loopback or a comma-separated list of IP addresses or CIDR ranges")
    .refine((list) => list.split(",").every(isProxyEntry), "loopback or a comma-separated list of IP addresses or CIDR ranges"),
  MAX_CONNECTIONS_PER_IP: int(0, 10_000_000),
  CONNECTION_RATE: int(0, 1_000_000),
  CONNECTION_BURST: int(1, 1_000_000),
  EVENT_RATE: int(0, 1_000_000),
  EVENT_BURST: int(1, 1_000_000),
  MAX_ROOMS_PER_SOCKET: int(1, 1_000_000),
  MAX_EVENT_SIZE: int(1, 1_073_741_824),
  MAX_BACKLOG: int(1024, 1_073_741_824),
  SSL_KEY_FILE: z.string().min(1, "a path to a PEM private key"),
  SSL_CERT_FILE: z.string().min(1, "a path to a PEM certificate"),
  SSL_PASSPHRASE: z.string().min(1, "the key's passphrase"),
  AUTH_TOKENS: z
    .string()
    .regex(/^[^,\s]+(,[^,\s]+)*$/, "a comma-separated list of tokens without spaces or empty items"),
} as const;

type Key = keyof typeof schema;

const DEFAULTS: Record<Key, string> = {
  PORT: "3000",
  HOST: "0.0.0.0",
  WORKERS: String(os.availableParallelism()),
  ENGINE: "uws",
  CORS_ORIGIN: "",
  PING_INTERVAL: "25000",
  PING_TIMEOUT: "20000",
  MAX_HTTP_BUFFER_SIZE: "1000000",
  LOG_LEVEL: "info",
  METRICS: "on",
  ADMIN_UI_PASSWORD: "",
  APP: "chat",
  UPGRADE_WINDOW: "1000",
  SHUTDOWN_TIMEOUT: "10000",
  PUBLIC_DIR: "",
  RECOVERY_WINDOW: "120000",
  RECOVERY_MAX_PACKETS: "100000",
  APP_MODULE: "",
  AUTH_TOKENS: "",
  ADAPTER: "cluster",
  REDIS_URL: "redis://127.0.0.1:6379",
  TRUST_PROXY: "",
  MAX_CONNECTIONS_PER_IP: "1000",
  CONNECTION_RATE: "20",
  CONNECTION_BURST: "100",
  EVENT_RATE: "100",
  EVENT_BURST: "200",
  MAX_ROOMS_PER_SOCKET: "100",
  MAX_EVENT_SIZE: "1000000",
  MAX_BACKLOG: "4194304",
  SSL_KEY_FILE: "",
  SSL_CERT_FILE: "",
  SSL_PASSPHRASE: "",
};

/** Thrown by {@link loadConfig}; its message is the one line printed before exiting 1. */
export class ConfigError extends Error {}

function read(env: NodeJS.ProcessEnv, key: Key): unknown {
  // an empty variable counts as unset
  const raw = env[key] || DEFAULTS[key];
  const result = schema[key].safeParse(raw);
  if (!result.success) {
    const allowed = result.error.issues[0]?.message ?? "a valid value";
    const shown = key === "ADMIN_UI_PASSWORD" || key === "REDIS_URL" || key === "SSL_PASSPHRASE" ? "(hidden)" : JSON.stringify(raw); // a secret is never printed
    throw new ConfigError(`invalid configuration: ${key}=${shown} (allowed: ${allowed})`);
  }
  return result.data;
}

/** `loopback`, an IP address, or a CIDR range with a prefix length that fits the address family. */
function isProxyEntry(entry: string): boolean {
  if (entry === "loopback") return true;
  const [address, prefix] = entry.split("/") as [string, string | undefined];
  const family = net.isIP(address);
  if (family === 0) return false;
  return prefix === undefined || Number(prefix) <= (family === 4 ? 32 : 128);
}

function parseOrigins(raw: string): Config["corsOrigin"] {
  if (raw.trim() === "*") return "*";
  const list = raw.split(",").map((o) => o.trim());
  for (const origin of list) {
    if (!/^https?:\/\/[^\s/]+$/.test(origin)) {
      throw new ConfigError(
        `invalid configuration: CORS_ORIGIN=${JSON.stringify(raw)} (allowed: * or a comma-separated list of origins such as https://example.com)`,
      );
    }
  }
  return list;
}

/**
 * Reads and validates the configuration.
 * @throws ConfigError naming the variable, the value and what is allowed.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: read(env, "PORT") as number,
    host: read(env, "HOST") as string,
    workers: read(env, "WORKERS") as number,
    engine: read(env, "ENGINE") as Config["engine"],
    corsOrigin: env.CORS_ORIGIN ? parseOrigins(read(env, "CORS_ORIGIN") as string) : undefined,
    pingInterval: read(env, "PING_INTERVAL") as number,
    pingTimeout: read(env, "PING_TIMEOUT") as number,
    maxHttpBufferSize: read(env, "MAX_HTTP_BUFFER_SIZE") as number,
    logLevel: read(env, "LOG_LEVEL") as Config["logLevel"],
    metrics: read(env, "METRICS") === "on",
    adminUiPassword: env.ADMIN_UI_PASSWORD ? (read(env, "ADMIN_UI_PASSWORD") as string) : undefined,
    app: read(env, "APP") as string,
    appModule: env.APP_MODULE ? path.resolve(read(env, "APP_MODULE") as string) : undefined,
    upgradeWindow: read(env, "UPGRADE_WINDOW") as number,
    authTokens: env.AUTH_TOKENS ? (read(env, "AUTH_TOKENS") as string).split(",") : [],
    shutdownTimeout: read(env, "SHUTDOWN_TIMEOUT") as number,
    recoveryWindow: read(env, "RECOVERY_WINDOW") as number,
    recoveryMaxPackets: read(env, "RECOVERY_MAX_PACKETS") as number,
    publicDir: env.PUBLIC_DIR ? (read(env, "PUBLIC_DIR") as string) : defaultPublicDir(),
    adapter: read(env, "ADAPTER") as Config["adapter"],
    redisUrl: read(env, "REDIS_URL") as string,
    trustProxy: env.TRUST_PROXY ? (read(env, "TRUST_PROXY") as string).split(",") : [],
    maxConnectionsPerIp: read(env, "MAX_CONNECTIONS_PER_IP") as number,
    connectionRate: read(env, "CONNECTION_RATE") as number,
    connectionBurst: read(env, "CONNECTION_BURST") as number,
    eventRate: read(env, "EVENT_RATE") as number,
    eventBurst: read(env, "EVENT_BURST") as number,
    maxRoomsPerSocket: read(env, "MAX_ROOMS_PER_SOCKET") as number,
    maxEventSize: read(env, "MAX_EVENT_SIZE") as number,
    maxBacklog: read(env, "MAX_BACKLOG") as number,
    ...readTls(env),
  };
}

/**
 * TLS is on when `SSL_KEY_FILE` is set, and then needs `SSL_CERT_FILE`; both must be readable
 * (checked here, so that a typo stops the start). `SSL_CERT_FILE` alone is ignored: it is also
 * OpenSSL's variable naming the CA bundle, which many systems set for every process.
 */
function readTls(env: NodeJS.ProcessEnv): Pick<Config, "sslKeyFile" | "sslCertFile" | "sslPassphrase"> {
  if (!env.SSL_KEY_FILE) return { sslKeyFile: undefined, sslCertFile: undefined, sslPassphrase: undefined };
  const key = path.resolve(read(env, "SSL_KEY_FILE") as string);
  if (!env.SSL_CERT_FILE) {
    throw new ConfigError("invalid configuration: SSL_CERT_FILE is unset (allowed: set SSL_KEY_FILE and SSL_CERT_FILE together)");
  }
  const cert = path.resolve(read(env, "SSL_CERT_FILE") as string);
  for (const [name, file] of [["SSL_KEY_FILE", key], ["SSL_CERT_FILE", cert]] as const) {
    if (file && !readable(file)) {
      throw new ConfigError(`invalid configuration: ${name}=${JSON.stringify(env[name])} (allowed: a readable PEM file)`);
    }
  }
  return {
    sslKeyFile: key,
    sslCertFile: cert,
    sslPassphrase: env.SSL_PASSPHRASE ? (read(env, "SSL_PASSPHRASE") as string) : undefined,
  };
}

function readable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function defaultPublicDir(): string {
  // dist/config/env.js → <project>/public
  return path.resolve(__dirname, "..", "..", "public");
}
