import net from "node:net";
import os from "node:os";
import path from "node:path";
import { z } from "zod";

/**
 * One setting, written once: where it is read from, how its text becomes a value, its default and
 * its documentation. {@link Config}, `loadConfig` and the README's *Configuration* table
 * (`npm run docs:config`) are all derived from {@link SETTINGS}.
 */
export type Setting = {
  /** The environment variable; empty counts as unset. */
  env: string;
  /**
   * Turns the variable's text (or the default's) into the value. It is given `undefined` when the
   * variable is unset and there is no default, and then yields the unset value (`.optional()`,
   * `.default([])`). Each message of a failed check says what is allowed.
   */
  schema: z.ZodType;
  /** Never printed: an error message shows `(hidden)` instead of the value. */
  secret?: boolean;
} & (
  | {
      /** The text used when the variable is unset; shown as `` `text` `` in the README unless `doc.default` says otherwise. */
      default: string;
      /** README: the default as shown (optional) and what the setting means and allows. */
      doc: { default?: string; meaning: string };
    }
  | {
      /** Computed when the configuration is read (such as the number of cores); absent: unset. */
      default?: () => string;
      /** README: the default as shown (needed: there is no text to show) and what the setting means. */
      doc: { default: string; meaning: string };
    }
);

/** Digits only, as a number from `min` to `max`. */
const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `an integer from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `an integer from ${min} to ${max}`).max(max, `an integer from ${min} to ${max}`));

/** A comma-separated list checked by `item`, as its items; unset: empty. */
const list = (item: z.ZodString) => item.transform((text) => text.split(",")).default(() => []);

/** A path, resolved against the working directory; unset: `undefined`. */
const file = (allowed: string) =>
  z
    .string()
    .min(1, allowed)
    .transform((p) => path.resolve(p))
    .optional();

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const ORIGINS = "* or a comma-separated list of origins such as https://example.com";
const PROXIES = "loopback or a comma-separated list of IP addresses or CIDR ranges";

/** `*`, or a list of `http(s)://host[:port]` origins (spaces around the commas allowed). */
function parseOrigins(text: string): string[] | "*" | undefined {
  if (text.trim() === "*") return "*";
  const origins = text.split(",").map((o) => o.trim());
  return origins.every((o) => /^https?:\/\/[^\s/]+$/.test(o)) ? origins : undefined;
}

/** `loopback`, an IP address, or a CIDR range with a prefix length that fits the address family. */
function isProxyEntry(entry: string): boolean {
  if (entry === "loopback") return true;
  const [address, prefix] = entry.split("/") as [string, string | undefined];
  const family = net.isIP(address);
  if (family === 0) return false;
  return prefix === undefined || Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Every setting, in the README's order. The key is the {@link Config} field; the TSDoc of each
 * entry is what an editor shows on that field.
 */
export const SETTINGS = {
  /** `PORT`: TCP port every worker listens on. Default `3000`. */
  port: { env: "PORT", schema: int(1, 65535), default: "3000", doc: { meaning: "TCP port every worker listens on" } },
  /** `HOST`: address to bind. Default `0.0.0.0`. */
  host: { env: "HOST", schema: z.string().min(1, "a host name or IP address"), default: "0.0.0.0", doc: { meaning: "address to bind" } },
  /** `WORKERS`: number of worker processes. Default: the number of cores. */
  workers: {
    env: "WORKERS",
    schema: int(1, 1024),
    default: () => String(os.availableParallelism()),
    doc: { default: "number of cores", meaning: "worker processes" },
  },
  /** `ENGINE`: `uws` (uWebSockets.js) or `node` (Node's http server). Default `uws`. */
  engine: {
    env: "ENGINE",
    schema: z.enum(["uws", "node"], "uws or node"),
    default: "uws",
    doc: {
      meaning:
        "`uws` (uWebSockets.js) or `node` (Node's http server); `uws` falls back to `node`, with one warning line, when its binary cannot load",
    },
  },
  /**
   * `CORS_ORIGIN`: `*`, or a comma-separated list of allowed origins. Default: unset,
   * no CORS headers (pages served by this server need none).
   */
  corsOrigin: {
    env: "CORS_ORIGIN",
    schema: z
      .string()
      .refine((text) => parseOrigins(text) !== undefined, ORIGINS)
      .transform(parseOrigins)
      .optional(),
    doc: {
      default: "unset (no CORS headers)",
      meaning:
        "`*` or a comma-separated list of origins (`https://a.example,https://b.example`); a list is enforced: a polling request or WebSocket upgrade with an `Origin` not in it gets `403` `origin not allowed` (no `Origin` header: allowed)",
    },
  },
  /** `PING_INTERVAL`: Engine.IO heartbeat interval in ms. Default `25000`. */
  pingInterval: { env: "PING_INTERVAL", schema: int(50, 3_600_000), default: "25000", doc: { meaning: "Engine.IO heartbeat interval, ms" } },
  /** `PING_TIMEOUT`: Engine.IO heartbeat timeout in ms. Default `20000`. */
  pingTimeout: { env: "PING_TIMEOUT", schema: int(50, 3_600_000), default: "20000", doc: { meaning: "Engine.IO heartbeat timeout, ms" } },
  /** `MAX_HTTP_BUFFER_SIZE`: largest accepted message / polling body in bytes. Default `1000000`. */
  maxHttpBufferSize: {
    env: "MAX_HTTP_BUFFER_SIZE",
    schema: int(1, 1_073_741_824),
    default: "1000000",
    doc: { meaning: "largest message or polling body, bytes" },
  },
  /** `LOG_LEVEL`: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`. Default `info`. */
  logLevel: {
    env: "LOG_LEVEL",
    schema: z.enum(LOG_LEVELS, LOG_LEVELS.join(", ")),
    default: "info",
    doc: { meaning: LOG_LEVELS.map((level) => `\`${level}\``).join(", ") },
  },
  /**
   * `LOG_FORMAT`: `auto` writes human-readable lines (pino-pretty, with the URL to open once every
   * worker listens) when stdout is a terminal and JSON lines otherwise (pm2, CI, pipes); `json` and
   * `pretty` choose one whatever stdout is. Default `auto`.
   */
  logFormat: {
    env: "LOG_FORMAT",
    schema: z.enum(["auto", "json", "pretty"], "auto, json or pretty"),
    default: "auto",
    doc: {
      meaning:
        "`auto`: readable lines and the URL to open when stdout is a terminal, JSON lines (one record each) otherwise (pm2, CI, pipes); `json` or `pretty` whatever stdout is",
    },
  },
  /** `APP`: the built-in application to run (`chat`, `echo`, `conformance`). Default `chat`. */
  app: {
    env: "APP",
    schema: z.string().regex(/^[a-z][a-z0-9-]*$/, "an application name such as chat"),
    default: "chat",
    doc: {
      meaning: "built-in application: `chat` (the seed application), `echo` (the runtime's test application), `conformance`",
    },
  },
  /**
   * `AUTH_TOKENS`: comma-separated tokens; when set, every namespace of the built-in application
   * requires one (`auth.token` or the `token` query parameter). Default: unset, open.
   */
  authTokens: {
    env: "AUTH_TOKENS",
    schema: list(z.string().regex(/^[^,\s]+(,[^,\s]+)*$/, "a comma-separated list of tokens without spaces or empty items")),
    doc: { default: "unset (open)", meaning: "comma-separated tokens the `chat` application requires (see below)" },
  },
  /**
   * `APP_MODULE`: path of a TypeScript (`.ts`, `.mts`, `.cts`) or JavaScript module exporting an
   * `Application` (`defineApp(...)`, as `default` or `application`) to run instead of a built-in
   * one; TypeScript runs as it is, without a build step. Default: unset.
   */
  appModule: {
    env: "APP_MODULE",
    schema: file("a path to a JavaScript or TypeScript module"),
    doc: {
      default: "unset",
      meaning: "path of your own application module, TypeScript or JavaScript (see *Applications*); replaces `APP`",
    },
  },
  /**
   * `UPGRADE_WINDOW`: how long (ms) a new polling session waits for its WebSocket upgrade
   * before the application sees it, so that the session can move to the worker the
   * WebSocket reached. Must stay below ⅔ of `PING_INTERVAL`: a larger value set explicitly stops
   * the start, the default is lowered to fit. Default `1000`.
   */
  upgradeWindow: {
    env: "UPGRADE_WINDOW",
    schema: int(0, 60_000),
    default: "1000",
    doc: {
      meaning:
        "ms a new polling session waits for its WebSocket before the application sees it (see *Sticky sessions*); kept below ⅔ of `PING_INTERVAL`",
    },
  },
  /** `SHUTDOWN_TIMEOUT`: ms a worker may take to drain before it is killed. Default `10000`. */
  shutdownTimeout: {
    env: "SHUTDOWN_TIMEOUT",
    schema: int(100, 600_000),
    default: "10000",
    doc: { meaning: "ms a worker may take to drain before the primary kills it" },
  },
  /** `PUBLIC_DIR`: folder served as static files. Default: the project's `public/`. */
  publicDir: {
    env: "PUBLIC_DIR",
    schema: z.string().min(1, "a folder path"),
    // src/config (or dist/config) → <project>/public
    default: () => path.resolve(__dirname, "..", "..", "public"),
    doc: { default: "`./public`", meaning: "static files; `/` serves its `index.html`" },
  },
  /**
   * `RECOVERY_WINDOW`: connection state recovery, in ms: a client cut off for less than this
   * (its worker killed or replaced included) reconnects to any worker with the same id and rooms
   * and gets every broadcast it missed. `0` turns it off. Default `120000`.
   */
  recoveryWindow: {
    env: "RECOVERY_WINDOW",
    schema: int(0, 86_400_000),
    default: "120000",
    doc: {
      meaning:
        "connection state recovery, ms: a client cut off for less than this (its worker killed or replaced included) comes back to any worker with the same id and rooms and every broadcast it missed; `0` turns it off",
    },
  },
  /** `RECOVERY_MAX_PACKETS`: most broadcasts kept for recovery, per namespace. Default `100000`. */
  recoveryMaxPackets: {
    env: "RECOVERY_MAX_PACKETS",
    schema: int(1, 100_000_000),
    default: "100000",
    doc: { meaning: "most broadcasts kept for recovery, per namespace" },
  },
  /** `METRICS`: `on` serves `GET /metrics` (Prometheus, every process), `off` does not count. Default `on`. */
  metrics: {
    env: "METRICS",
    schema: z.enum(["on", "off"], "on or off").transform((value) => value === "on"),
    default: "on",
    doc: { meaning: "`GET /metrics` on the admin port (Prometheus, every process); `off` counts nothing" },
  },
  /**
   * `ADMIN_PORT`: the port of the admin listener, served by the primary: `GET /metrics`, `GET /stats`
   * and the admin UI's files, kept off the clients' port. `0` turns it off. Default `9464`.
   */
  adminPort: {
    env: "ADMIN_PORT",
    schema: int(0, 65535),
    default: "9464",
    doc: {
      meaning:
        "the admin listener (the primary): `/metrics`, `/stats`, `/admin-ui/`, `/healthz`, kept off the clients' port, which keeps only `/healthz` and `/readyz` for load balancers; `0` turns it off. Taken already: logged (`admin-listen-failed`), the clients' port serves on",
    },
  },
  /** `ADMIN_HOST`: the address the admin listener binds. Default `127.0.0.1` (this machine only). */
  adminHost: {
    env: "ADMIN_HOST",
    schema: z.string().min(1, "a host name or IP address"),
    default: "127.0.0.1",
    doc: { meaning: "address the admin listener binds: this machine only by default; `0.0.0.0` for a Prometheus elsewhere (then firewall it)" },
  },
  /**
   * `ADMIN_UI_PASSWORD`: switches on `@socket.io/admin-ui` (namespace `/admin` on the clients' port,
   * user `admin`; the UI's files at `/admin-ui/` on the admin port) with this password, or its bcrypt
   * hash. Default: unset, no admin UI.
   */
  adminUiPassword: {
    env: "ADMIN_UI_PASSWORD",
    schema: z
      .string()
      .refine((s) => s.length >= 8 && Buffer.byteLength(s) <= 72, "8 characters to 72 bytes, or a bcrypt hash")
      .optional(),
    secret: true,
    doc: {
      default: "unset (off)",
      meaning:
        "switches on `@socket.io/admin-ui` (namespace `/admin` on the clients' port, user `admin`; the UI at `/admin-ui/` on the admin port) with this password or bcrypt hash",
    },
  },
  /**
   * `ADAPTER`: `cluster` (one machine: the primary relays broadcasts and holds the shared state and
   * recovery log) or `redis` (several machines: every worker uses Redis, see docs/multi-machine.md).
   * Default `cluster`.
   */
  adapter: {
    env: "ADAPTER",
    schema: z.enum(["cluster", "redis"], "cluster or redis"),
    default: "cluster",
    doc: {
      meaning:
        "`cluster` (one machine) or `redis`: broadcasts, recovery and the shared state across several machines through Redis (see [docs/multi-machine.md](docs/multi-machine.md))",
    },
  },
  /** `REDIS_URL`: the Redis server with `ADAPTER=redis`. Default `redis://127.0.0.1:6379`. */
  redisUrl: {
    env: "REDIS_URL",
    schema: z.string().regex(/^rediss?:\/\/\S+$/, "a redis:// or rediss:// URL"),
    default: "redis://127.0.0.1:6379",
    secret: true,
    doc: { meaning: "the Redis server with `ADAPTER=redis`" },
  },
  /**
   * `TRUST_PROXY`: comma-separated addresses of reverse proxies (exact IPs, CIDR ranges such as
   * `10.0.0.0/8`, `loopback` for 127.0.0.0/8 and ::1) whose `X-Forwarded-For` names the client:
   * the client is then the right-most entry that is not a trusted proxy. Default: unset, the
   * address of the TCP peer is the client's and `X-Forwarded-For` is ignored.
   */
  trustProxy: {
    env: "TRUST_PROXY",
    schema: list(
      z
        .string()
        .regex(/^(loopback|[0-9a-fA-F.:]+(\/\d{1,3})?)(,(loopback|[0-9a-fA-F.:]+(\/\d{1,3})?))*$/, PROXIES)
        .refine((text) => text.split(",").every(isProxyEntry), PROXIES),
    ),
    doc: {
      default: "unset (the TCP peer is the client)",
      meaning:
        "comma-separated reverse proxies (IPs, CIDR ranges, `loopback`) whose `X-Forwarded-For` is believed: the client is its right-most entry that is not a trusted proxy; that address is `socket.handshake.address` and what the per-address limits count",
    },
  },
  /**
   * `MAX_CONNECTIONS_PER_IP`: most Engine.IO sessions open at once from one client address, across
   * the cluster. `0` turns the cap off. Default `20000`: a company behind one NAT address, or a
   * site behind a reverse proxy not listed in `TRUST_PROXY`, is many users on one address.
   */
  maxConnectionsPerIp: {
    env: "MAX_CONNECTIONS_PER_IP",
    schema: int(0, 10_000_000),
    default: "20000",
    doc: {
      meaning:
        "most Engine.IO sessions open at once from one client address, over all workers (per machine with `ADAPTER=redis`); over it a handshake (polling or WebSocket) gets `429` `too many connections from this address` with `Retry-After`; `0` turns it off",
    },
  },
  /**
   * `CONNECTION_RATE`: new sessions per second one client address may open (token bucket, refilled
   * continuously). `0` turns the limit off. Default `1000`: after its burst, one address opening
   * sessions at 10,000/s is cut, while a deploy's reconnection storm from one NAT address is not.
   */
  connectionRate: {
    env: "CONNECTION_RATE",
    schema: int(0, 1_000_000),
    default: "1000",
    doc: {
      meaning:
        "new sessions per second per client address (token bucket); over it `429` `connection rate exceeded` with `Retry-After`; `0` turns it off",
    },
  },
  /**
   * `CONNECTION_BURST`: new sessions one client address may open at once (bucket size). Default
   * `10000`: every client of a restarted machine reconnects at once, possibly from one address.
   */
  connectionBurst: {
    env: "CONNECTION_BURST",
    schema: int(1, 1_000_000),
    default: "10000",
    doc: { meaning: "new sessions one address may open at once (the bucket's size)" },
  },
  /**
   * `EVENT_RATE`: events per second one socket may send (token bucket); over it the event is
   * dropped and answered with an error (ack or `error` event). `0` turns the limit off. Default `100`.
   */
  eventRate: {
    env: "EVENT_RATE",
    schema: int(0, 1_000_000),
    default: "100",
    doc: {
      meaning:
        'events per second one socket may send (token bucket, every namespace, the application\'s included); an event over it never reaches the application: its acknowledgement gets `{ ok: false, error: "rate limit exceeded" }`, or, without one, the client gets an `error` event `{ error, event }` (at most one a second); a socket that has 10 × `EVENT_BURST` events dropped in one flood is disconnected (`io server disconnect`); `0` turns it off',
    },
  },
  /** `EVENT_BURST`: events one socket may send at once (bucket size). Default `200`. */
  eventBurst: {
    env: "EVENT_BURST",
    schema: int(1, 1_000_000),
    default: "200",
    doc: { meaning: "events one socket may send at once (the bucket's size)" },
  },
  /**
   * `MAX_EVENT_SIZE`: largest event a client may send, in bytes (JSON arguments and binary
   * attachments together); larger events are refused with an error. Default `1000000`.
   */
  maxEventSize: {
    env: "MAX_EVENT_SIZE",
    schema: int(1, 1_073_741_824),
    default: "1000000",
    doc: {
      meaning:
        "largest event a client may send, bytes, JSON and binary attachments together; refused like a rate-limited one with `event too large`; a binary event that passes it before its last attachment closes the connection (its attachments are not kept)",
    },
  },
  /** `MAX_ROOMS_PER_SOCKET`: most rooms one socket may be in (its own id room included). Default `100`. */
  maxRoomsPerSocket: {
    env: "MAX_ROOMS_PER_SOCKET",
    schema: int(1, 1_000_000),
    default: "100",
    doc: {
      meaning:
        "most rooms one socket may be in, its own id room included; `socket.join` beyond it joins nothing and throws a `RoomLimitError` (`code` `ROOM_LIMIT`, message `room limit exceeded`): caught by the application or, if it escapes an event handler, sent to the client's acknowledgement; a server-side `socketsJoin` skips the sockets at their limit (warning logged)",
    },
  },
  /**
   * `MAX_BACKLOG`: bytes waiting to be sent to one client (a WebSocket's backpressure, or a polling
   * session's buffered packets), measured when an event-loop turn that sent it packets ends (the
   * recipients of natively published uWS broadcasts: every 50 ms), before it is disconnected as a
   * slow consumer (it reconnects and recovers what it missed). Default
   * `4194304` (4 MiB).
   */
  maxBacklog: {
    env: "MAX_BACKLOG",
    schema: int(1024, 1_073_741_824),
    default: "4194304",
    doc: {
      meaning:
        "bytes waiting for one client (WebSocket backpressure, uWS or `ws`; packets a polling session holds for its next GET) when an event-loop turn that sent it packets ends (a burst made in one turn is measured once handed to the socket, not while Engine.IO still holds it; the recipients of broadcasts uWS publishes natively are checked every 50 ms, so a fast stream can take one past the bound by 50 ms of broadcasts) before it is disconnected as a slow consumer (server reason `forced close`, description `slow consumer: …`; logged, counted): it reconnects and recovers what it missed. uWS closes such a WebSocket rather than skipping it in `publish`, so no broadcast is silently lost. Keep it above the largest burst a healthy client gets at once (a recovery replay included)",
    },
  },
  /**
   * `SSL_KEY_FILE` and `SSL_CERT_FILE`: PEM files of the private key and certificate; when
   * `SSL_KEY_FILE` is set (it then needs `SSL_CERT_FILE`) the server speaks HTTPS and WSS only (uWS
   * `SSLApp`, Node `https`). `SSL_CERT_FILE` alone is ignored (OpenSSL's CA-bundle variable, often set
   * system-wide). Default: unset, plain HTTP.
   */
  sslKeyFile: {
    env: "SSL_KEY_FILE",
    schema: file("a path to a PEM private key"),
    doc: {
      default: "unset (plain HTTP)",
      meaning: "PEM private key: with `SSL_CERT_FILE`, the port speaks HTTPS and WSS only (see *TLS*)",
    },
  },
  /** `SSL_CERT_FILE`: see {@link Config.sslKeyFile}. */
  sslCertFile: {
    env: "SSL_CERT_FILE",
    schema: file("a path to a PEM certificate"),
    doc: {
      default: "unset",
      meaning:
        "PEM certificate (chain) for `SSL_KEY_FILE`; ignored without `SSL_KEY_FILE` (it is also OpenSSL's CA-bundle variable)",
    },
  },
  /** `SSL_PASSPHRASE`: passphrase of an encrypted `SSL_KEY_FILE`. Default: unset. */
  sslPassphrase: {
    env: "SSL_PASSPHRASE",
    schema: z.string().min(1, "the key's passphrase").optional(),
    secret: true,
    doc: { default: "unset", meaning: "passphrase of an encrypted `SSL_KEY_FILE`" },
  },
} satisfies Record<string, Setting>;

/**
 * Runtime configuration, read from environment variables and validated at start: one field per
 * entry of {@link SETTINGS}, typed by what its schema yields (hover a field for its variable and
 * default). An invalid value stops the process with one line naming the variable, the value and
 * what is allowed (see `loadConfig`).
 */
export type Config = { -readonly [K in keyof typeof SETTINGS]: z.output<(typeof SETTINGS)[K]["schema"]> };
