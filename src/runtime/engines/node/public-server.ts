import createDebug from "debug";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { Config } from "../../../config/env";

const debug = createDebug("runtime:node:tls");

/** Longest a client may take to complete its TLS handshake (ms); Node's default is 120 s. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface PublicServer {
  /** Serves the connections the primary hands over (it never listens itself). */
  server: http.Server;
  /** Whether it terminates TLS (`SSL_KEY_FILE` and `SSL_CERT_FILE` set). */
  secure: boolean;
}

/**
 * The worker's HTTP server: `https` with the configured key and certificate (the primary routes
 * the raw TCP connection by client address and the worker terminates TLS), or plain `http`.
 * A client that does not speak TLS (plain HTTP to the TLS port) fails its handshake and its
 * connection is closed; nothing else happens.
 */
export function createPublicServer(config: Pick<Config, "sslKeyFile" | "sslCertFile" | "sslPassphrase">): PublicServer {
  if (!config.sslKeyFile || !config.sslCertFile) return { server: http.createServer(), secure: false };
  const server = https.createServer({
    key: readFileSync(config.sslKeyFile),
    cert: readFileSync(config.sslCertFile),
    ...(config.sslPassphrase ? { passphrase: config.sslPassphrase } : {}),
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  });
  server.on("tlsClientError", (err, socket) => {
    debug("TLS handshake failed from %s: %s", socket.remoteAddress, err.message);
    socket.destroy();
  });
  // https.Server has http.Server's whole API (Node builds it from the same prototype methods)
  return { server: server as unknown as http.Server, secure: true };
}
