import path from "node:path";
import { describe, expect, it } from "vitest";
import { checkUws } from "./primary";
import { createPublicApp } from "./public-app";

const TLS = path.resolve(__dirname, "..", "..", "..", "..", "test", "fixtures", "tls");

// skipped where no uWebSockets.js binary serves (Node 22/24 on glibc < 2.38: test/engine-build.test.ts says why)
describe.skipIf(!checkUws().ok)("createPublicApp", () => {
  it("is a plain app without TLS files", () => {
    const { secure, problem } = createPublicApp({ sslKeyFile: undefined, sslCertFile: undefined, sslPassphrase: undefined });
    expect({ secure, problem }).toEqual({ secure: false, problem: undefined });
  });

  it("is an SSLApp with a matching key and certificate (and the passphrase of an encrypted key)", () => {
    const cert = path.join(TLS, "cert.pem");
    expect(createPublicApp({ sslKeyFile: path.join(TLS, "key.pem"), sslCertFile: cert, sslPassphrase: undefined }).problem).toBeUndefined();
    const encrypted = { sslKeyFile: path.join(TLS, "key-encrypted.pem"), sslCertFile: cert, sslPassphrase: "fixture-passphrase" };
    const { secure, problem } = createPublicApp(encrypted);
    expect({ secure, problem }).toEqual({ secure: true, problem: undefined });
  });

  it("reports, instead of throwing, a key that uWS refuses", () => {
    const { secure, problem } = createPublicApp({
      sslKeyFile: path.join(TLS, "other-key.pem"),
      sslCertFile: path.join(TLS, "cert.pem"),
      sslPassphrase: undefined,
    });
    expect(secure).toBe(true);
    expect(problem).toMatch(/^uWebSockets\.js cannot use SSL_KEY_FILE=.*other-key\.pem/);
  });
});
