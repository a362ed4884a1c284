import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import type { Config } from "./env";

/** OpenSSL's reason without its code prefix: `error:0480006C:PEM routines::no start line` → `no start line`. */
function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return (message.split("::").pop() ?? message).split("\n")[0]!.trim();
}

/**
 * Why the TLS files of `config` cannot serve (an unreadable PEM, a key that needs or refuses
 * `SSL_PASSPHRASE`, a key that does not match the certificate), as the one line printed before
 * exiting 1; `undefined` when TLS is off or the files are fine. The primary checks this before it
 * forks, so that a bad file stops the start instead of making every worker fail in a loop.
 */
export function tlsProblem(config: Pick<Config, "sslKeyFile" | "sslCertFile" | "sslPassphrase">): string | undefined {
  const { sslKeyFile: keyFile, sslCertFile: certFile, sslPassphrase: passphrase } = config;
  if (!keyFile || !certFile) return undefined;
  let cert: Buffer;
  let key: Buffer | undefined;
  try {
    cert = readFileSync(certFile);
    new X509Certificate(cert);
  } catch (err) {
    return `invalid configuration: SSL_CERT_FILE=${JSON.stringify(certFile)} (allowed: a PEM certificate; ${reasonOf(err)})`;
  }
  try {
    key = readFileSync(keyFile);
    createPrivateKey({ key, ...(passphrase ? { passphrase } : {}) });
  } catch (err) {
    const allowed = passphrase ? "a PEM private key that SSL_PASSPHRASE decrypts" : "a PEM private key, with SSL_PASSPHRASE if encrypted";
    const encrypted = !passphrase && key?.includes("ENCRYPTED") === true;
    const reason = encrypted ? "the key is encrypted and SSL_PASSPHRASE is unset" : reasonOf(err);
    return `invalid configuration: SSL_KEY_FILE=${JSON.stringify(keyFile)} (allowed: ${allowed}; ${reason})`;
  }
  try {
    createSecureContext({ key, cert, ...(passphrase ? { passphrase } : {}) });
  } catch (err) {
    return `invalid configuration: SSL_KEY_FILE=${JSON.stringify(keyFile)} (allowed: the private key of SSL_CERT_FILE=${JSON.stringify(certFile)}; ${reasonOf(err)})`;
  }
  return undefined;
}
