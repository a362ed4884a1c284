import createDebug from "debug";
import type { EventEmitter } from "node:events";
import uws, { type TemplatedApp } from "uWebSockets.js";
import type { Config } from "../../../config/env";

const debug = createDebug("runtime:uws:tls");

export interface PublicApp {
  app: TemplatedApp;
  /** Whether the app speaks TLS (`SSL_KEY_FILE` and `SSL_CERT_FILE` set). */
  secure: boolean;
  /**
   * Why the TLS app could not be built (uWS refused the key or certificate); the app is then a
   * plain one that must not listen: `listen()` rejects with this, and the worker reports it as fatal.
   */
  problem?: string;
}

/**
 * The worker's public uWS app: `SSLApp` with the configured key and certificate, or a plain `App`.
 * The primary has already checked the files with Node's OpenSSL (`config/tls-check.ts`); this
 * build of uWS throws "App construction failed" when it disagrees, which is caught here so that it
 * becomes one fatal line instead of a crash (and a crash loop) in every worker.
 */
export function createPublicApp(config: Pick<Config, "sslKeyFile" | "sslCertFile" | "sslPassphrase">): PublicApp {
  if (!config.sslKeyFile || !config.sslCertFile) return { app: uws.App(), secure: false };
  try {
    const app = uws.SSLApp({
      key_file_name: config.sslKeyFile,
      cert_file_name: config.sslCertFile,
      ...(config.sslPassphrase ? { passphrase: config.sslPassphrase } : {}),
    });
    debug("TLS with %s and %s", config.sslKeyFile, config.sslCertFile);
    return { app, secure: true };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return {
      app: uws.App(),
      secure: true,
      problem: `uWebSockets.js cannot use SSL_KEY_FILE=${config.sslKeyFile} and SSL_CERT_FILE=${config.sslCertFile} (${reason})`,
    };
  }
}

/**
 * engine.io's uWS server gives its requests a `connection` without `encrypted`, from which
 * Socket.IO computes `socket.handshake.secure`: set it on every session before Socket.IO sees it
 * (fresh, taken over from another worker, or released by the connection gate).
 */
export function markSessionsSecure(engine: EventEmitter): void {
  engine.prependListener("connection", (session: { request?: { connection?: { encrypted?: boolean } } }) => {
    if (session.request?.connection) session.request.connection.encrypted = true;
  });
}
