import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, upgradeWindowFor, type Config } from "./env";

const ROOT = path.resolve(__dirname, "..", "..");
const TLS = path.join(ROOT, "test", "fixtures", "tls");

/** The one-line message `loadConfig(env)` throws (fails the test when it does not throw). */
function refusal(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as ConfigError).message;
    expect(message.split("\n")).toHaveLength(1);
    return message;
  }
  throw new Error(`loadConfig(${JSON.stringify(env)}) accepted it`);
}

describe("loadConfig", () => {
  it("has a default for every setting", () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: "0.0.0.0",
      workers: os.availableParallelism(),
      engine: "uws",
      corsOrigin: undefined,
      pingInterval: 25000,
      pingTimeout: 20000,
      maxHttpBufferSize: 1000000,
      logLevel: "info",
      logFormat: "auto",
      app: "chat",
      authTokens: [],
      appModule: undefined,
      upgradeWindow: 1000,
      shutdownTimeout: 10000,
      publicDir: path.join(ROOT, "public"),
      recoveryWindow: 120000,
      recoveryMaxPackets: 100000,
      metrics: true,
      adminUiPassword: undefined,
      adminPort: 9464,
      adminHost: "127.0.0.1",
      adapter: "cluster",
      redisUrl: "redis://127.0.0.1:6379",
      trustProxy: [],
      maxConnectionsPerIp: 20000,
      connectionRate: 1000,
      connectionBurst: 10000,
      eventRate: 100,
      eventBurst: 200,
      maxEventSize: 1000000,
      maxRoomsPerSocket: 100,
      maxBacklog: 4194304,
      sslKeyFile: undefined,
      sslCertFile: undefined,
      sslPassphrase: undefined,
    } satisfies Config);
  });

  it("counts an empty variable as unset", () => {
    expect(loadConfig({ PORT: "", WORKERS: "", AUTH_TOKENS: "", CORS_ORIGIN: "", UPGRADE_WINDOW: "" })).toEqual(loadConfig({}));
  });

  it.each<[string, NodeJS.ProcessEnv, Partial<Config>]>([
    ["an integer", { PORT: "8080", RECOVERY_WINDOW: "0" }, { port: 8080, recoveryWindow: 0 }],
    ["a string", { HOST: "127.0.0.1", APP: "echo" }, { host: "127.0.0.1", app: "echo" }],
    ["a choice", { ENGINE: "node", LOG_LEVEL: "silent", ADAPTER: "redis" }, { engine: "node", logLevel: "silent", adapter: "redis" }],
    ["a switch", { METRICS: "off" }, { metrics: false }],
    ["a list", { AUTH_TOKENS: "a,b", TRUST_PROXY: "loopback,10.0.0.0/8,::1" }, { authTokens: ["a", "b"], trustProxy: ["loopback", "10.0.0.0/8", "::1"] }],
    ["CORS origins", { CORS_ORIGIN: "https://a.example, http://b.example:8080" }, { corsOrigin: ["https://a.example", "http://b.example:8080"] }],
    ["any CORS origin", { CORS_ORIGIN: " * " }, { corsOrigin: "*" }],
    ["a path, resolved", { APP_MODULE: "apps/mine.js", PUBLIC_DIR: "/srv/www" }, { appModule: path.resolve("apps/mine.js"), publicDir: "/srv/www" }],
    ["a secret", { ADMIN_UI_PASSWORD: "correct horse", REDIS_URL: "rediss://user:pw@redis:6380" }, { adminUiPassword: "correct horse", redisUrl: "rediss://user:pw@redis:6380" }],
    ["a computed default", { WORKERS: "3" }, { workers: 3 }],
  ])("reads %s", (_kind, env, expected) => {
    expect(loadConfig(env)).toMatchObject(expected);
  });

  // each line as printed after `invalid configuration: `; the variable and value are read from it
  const REFUSED = `
PORT="abc" (allowed: an integer from 1 to 65535)
ENGINE="fast" (allowed: uws or node)
PORT="70000" (allowed: an integer from 1 to 65535)
LOG_LEVEL="loud" (allowed: fatal, error, warn, info, debug, trace, silent)
WORKERS="0" (allowed: an integer from 1 to 1024)
METRICS="yes" (allowed: on or off)
MAX_HTTP_BUFFER_SIZE="1e6" (allowed: an integer from 1 to 1073741824)
ADAPTER="kafka" (allowed: cluster or redis)
MAX_BACKLOG="10" (allowed: an integer from 1024 to 1073741824)
APP="Chat" (allowed: an application name such as chat)
CORS_ORIGIN="not a url" (allowed: * or a comma-separated list of origins such as https://example.com)
AUTH_TOKENS="a,,b" (allowed: a comma-separated list of tokens without spaces or empty items)
TRUST_PROXY="10.0.0.0/40" (allowed: loopback or a comma-separated list of IP addresses or CIDR ranges)
`;
  it.each(REFUSED.trim().split("\n"))("refuses %s in one line naming the variable, the value and what is allowed", (line) => {
    const [, name, value] = /^(\w+)="([^"]*)"/.exec(line)!;
    expect(refusal({ [name!]: value })).toBe(`invalid configuration: ${line}`);
  });

  it.each([
    [{ ADMIN_UI_PASSWORD: "short" }, "invalid configuration: ADMIN_UI_PASSWORD=(hidden) (allowed: 8 characters to 72 bytes, or a bcrypt hash)"],
    [{ REDIS_URL: "http://user:s3cret@x" }, "invalid configuration: REDIS_URL=(hidden) (allowed: a redis:// or rediss:// URL)"],
  ])("never prints a secret: %j", (env, message) => {
    const printed = refusal(env);
    expect(printed).toBe(message);
    for (const value of Object.values(env)) expect(printed).not.toContain(value);
  });

  describe("UPGRADE_WINDOW below ⅔ of PING_INTERVAL", () => {
    it("refuses an explicit value at or above it", () => {
      expect(refusal({ UPGRADE_WINDOW: "20000" })).toBe(
        'invalid configuration: UPGRADE_WINDOW="20000" (allowed: less than ⅔ of PING_INTERVAL=25000, i.e. at most 16666)',
      );
      expect(refusal({ PING_INTERVAL: "300", UPGRADE_WINDOW: "200" })).toBe(
        'invalid configuration: UPGRADE_WINDOW="200" (allowed: less than ⅔ of PING_INTERVAL=300, i.e. at most 199)',
      );
    });

    it("accepts an explicit value below it", () => {
      expect(loadConfig({ UPGRADE_WINDOW: "16666" }).upgradeWindow).toBe(16666);
      expect(loadConfig({ UPGRADE_WINDOW: "15000" }).upgradeWindow).toBe(15000);
      expect(loadConfig({ PING_INTERVAL: "300", UPGRADE_WINDOW: "199" }).upgradeWindow).toBe(199);
    });

    it("lowers the default to fit a short PING_INTERVAL", () => {
      expect(loadConfig({ PING_INTERVAL: "300" }).upgradeWindow).toBe(199);
      expect(loadConfig({ PING_INTERVAL: "1501" }).upgradeWindow).toBe(1000);
    });

    it("upgradeWindowFor fits the window to another ping interval", () => {
      const config = loadConfig({});
      expect(upgradeWindowFor(config, 25000)).toBe(1000);
      expect(upgradeWindowFor(config, 1000)).toBe(666);
      expect(upgradeWindowFor(config, 300)).toBe(199);
      expect(upgradeWindowFor({ upgradeWindow: 0 }, 50)).toBe(0);
    });
  });

  describe("SSL_KEY_FILE with SSL_CERT_FILE", () => {
    const key = path.join(TLS, "key.pem");
    const cert = path.join(TLS, "cert.pem");

    it("turns TLS on with both, files resolved", () => {
      expect(loadConfig({ SSL_KEY_FILE: path.relative(process.cwd(), key), SSL_CERT_FILE: cert, SSL_PASSPHRASE: "pass" })).toMatchObject({
        sslKeyFile: key,
        sslCertFile: cert,
        sslPassphrase: "pass",
      });
    });

    it("ignores SSL_CERT_FILE and SSL_PASSPHRASE alone", () => {
      expect(loadConfig({ SSL_CERT_FILE: "/etc/ssl/certs/missing-bundle.pem", SSL_PASSPHRASE: "pass" })).toMatchObject({
        sslKeyFile: undefined,
        sslCertFile: undefined,
        sslPassphrase: undefined,
      });
    });

    it("refuses SSL_KEY_FILE alone", () => {
      expect(refusal({ SSL_KEY_FILE: key })).toBe(
        "invalid configuration: SSL_CERT_FILE is unset (allowed: set SSL_KEY_FILE and SSL_CERT_FILE together)",
      );
    });

    it("refuses a file it cannot read", () => {
      expect(refusal({ SSL_KEY_FILE: "missing.pem", SSL_CERT_FILE: cert })).toBe(
        'invalid configuration: SSL_KEY_FILE="missing.pem" (allowed: a readable PEM file)',
      );
      expect(refusal({ SSL_KEY_FILE: key, SSL_CERT_FILE: TLS })).toBe(
        `invalid configuration: SSL_CERT_FILE=${JSON.stringify(TLS)} (allowed: a readable PEM file)`,
      );
    });
  });
});
