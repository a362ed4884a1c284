import createDebug from "debug";
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import type http from "node:http";
import path from "node:path";

const debug = createDebug("runtime:http");

/** An HTTP answer, independent of the server it is written to. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

export interface HttpRoutesOptions {
  /** Folder served as static files, `/` being its `index.html`, and the official client's files under `/socket.io/`; unset: neither. */
  publicDir?: string;
  /** `GET /readyz`: `false` while the worker drains (503); unset: no such route. */
  isReady?: () => boolean;
  /** `GET /stats` (every worker's counters, `src/runtime/metrics/`); unset: no such route. */
  stats?: () => Promise<HttpAnswer>;
  /** `GET /metrics` (Prometheus text of every process, `src/runtime/metrics/`); unset: no such route. */
  metrics?: () => Promise<HttpAnswer>;
  /** Folder served under `/admin-ui/` (the Socket.IO admin UI's files); unset: no such route. */
  adminUiDir?: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "application/javascript; charset=utf-8",
  ".mjs": "application/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

const CLIENT_FILES = new Set([
  "socket.io.js",
  "socket.io.js.map",
  "socket.io.min.js",
  "socket.io.min.js.map",
  "socket.io.esm.min.js",
  "socket.io.esm.min.js.map",
  "socket.io.msgpack.min.js",
  "socket.io.msgpack.min.js.map",
]);
const CLIENT_DIR = path.join(path.dirname(require.resolve("socket.io/package.json")), "client-dist");

const text = (status: number, body: string): HttpAnswer => ({
  status,
  headers: { "content-type": "text/plain; charset=utf-8" },
  body,
});

/**
 * The runtime's own HTTP routes, whatever the server: on the client port (every worker)
 * `/healthz`, `/readyz`, the official client under `/socket.io/`, static files; on the admin port
 * (the primary, `ADMIN_PORT`) `/healthz`, `/stats`, `/metrics` and `/admin-ui/`. Anything else: 404.
 */
export class HttpRoutes {
  private readonly cache = new Map<string, { mtimeMs: number; body: Buffer; etag: string }>();

  constructor(private readonly options: HttpRoutesOptions) {}

  /** Whether `url` names one of the official client's files (`/socket.io/socket.io.js`, …). */
  isClientFile(url: string): boolean {
    const pathname = url.split("?")[0] ?? "";
    return this.options.publicDir !== undefined && pathname.startsWith("/socket.io/") && CLIENT_FILES.has(pathname.slice("/socket.io/".length));
  }

  async handle(method: string, url: string, ifNoneMatch: string): Promise<HttpAnswer> {
    const pathname = url.split("?")[0] ?? "/";
    if (method !== "GET" && method !== "HEAD") return text(405, "method not allowed\n");
    switch (pathname) {
      case "/healthz":
        return text(200, "ok\n");
      case "/readyz":
        if (this.options.isReady) return this.options.isReady() ? text(200, "ready\n") : text(503, "draining\n");
        break;
      case "/stats":
        if (this.options.stats) return this.options.stats();
        break;
      case "/metrics":
        if (this.options.metrics) return this.options.metrics();
        break;
      case "/admin-ui":
        if (this.options.adminUiDir) return { status: 308, headers: { location: "/admin-ui/" }, body: "" };
        break;
    }
    if (this.options.adminUiDir && pathname.startsWith("/admin-ui/")) {
      const relative = pathname === "/admin-ui/" ? "index.html" : safeRelative(pathname.slice("/admin-ui".length));
      if (relative === undefined) return text(404, "not found\n");
      return this.file(path.join(this.options.adminUiDir, relative), ifNoneMatch, "no-cache");
    }
    const publicDir = this.options.publicDir;
    if (publicDir === undefined) return text(404, "not found\n");
    if (pathname.startsWith("/socket.io/")) {
      const name = pathname.slice("/socket.io/".length);
      if (!CLIENT_FILES.has(name)) return text(404, "not found\n");
      return this.file(path.join(CLIENT_DIR, name), ifNoneMatch, "public, max-age=0");
    }
    const relative = pathname === "/" ? "index.html" : safeRelative(pathname);
    if (relative === undefined) return text(404, "not found\n");
    return this.file(path.join(publicDir, relative), ifNoneMatch, "no-cache");
  }

  private async file(file: string, ifNoneMatch: string, cacheControl: string): Promise<HttpAnswer> {
    let entry;
    try {
      const info = await stat(file);
      if (!info.isFile()) return text(404, "not found\n");
      entry = this.cache.get(file);
      if (!entry || entry.mtimeMs !== info.mtimeMs) {
        const body = await readFile(file);
        entry = { mtimeMs: info.mtimeMs, body, etag: `"${createHash("sha1").update(body).digest("base64url")}"` };
        this.cache.set(file, entry);
      }
    } catch (err) {
      debug("cannot serve %s: %s", file, (err as Error).message);
      return text(404, "not found\n");
    }
    const headers = {
      "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
      "cache-control": cacheControl,
      etag: entry.etag,
    };
    if (ifNoneMatch === entry.etag || ifNoneMatch === `W/${entry.etag}`) return { status: 304, headers, body: "" };
    return { status: 200, headers, body: entry.body };
  }
}

/** A URL path as a relative file path inside the public folder, or `undefined` if it escapes it. */
function safeRelative(pathname: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes("\0")) return undefined;
  const normalized = path.posix.normalize(decoded);
  if (!normalized.startsWith("/") || normalized.split("/").some((part) => part.startsWith("."))) return undefined;
  return normalized.slice(1);
}

