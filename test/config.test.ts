import net from "node:net";
import { describe, expect, it } from "vitest";
import { freePort } from "./helpers/server";
import { runMain } from "./helpers/process";
import { ENGINES } from "./helpers/engines";

describe("configuration", () => {
  it.each([
    ["PORT", "abc", /PORT="abc".*integer from 1 to 65535/],
    ["PORT", "70000", /PORT="70000".*integer from 1 to 65535/],
    ["WORKERS", "0", /WORKERS="0".*integer from 1/],
    ["ENGINE", "fast", /ENGINE="fast".*uws or node/],
    ["PING_INTERVAL", "-5", /PING_INTERVAL="-5".*integer/],
    ["PING_TIMEOUT", "soon", /PING_TIMEOUT="soon".*integer/],
    ["MAX_HTTP_BUFFER_SIZE", "1e6", /MAX_HTTP_BUFFER_SIZE="1e6".*integer/],
    ["LOG_LEVEL", "loud", /LOG_LEVEL="loud".*fatal, error, warn, info, debug, trace, silent/],
    ["CORS_ORIGIN", "not a url", /CORS_ORIGIN="not a url".*list of origins/],
    ["APP", "nope", /APP="nope".*chat, echo, conformance/],
    ["APP_MODULE", "/nonexistent/app.js", /APP_MODULE=.*existing JavaScript or TypeScript module/],
    ["LOG_FORMAT", "fancy", /LOG_FORMAT="fancy".*auto, json or pretty/],
  ])("%s=%s exits 1 with one line naming the variable, the value and what is allowed", async (key, value, message) => {
    const result = await runMain({ PORT: String(await freePort()), [key]: value });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^invalid configuration: /);
    expect(lines[0]).toMatch(message);
  });

  it.each(ENGINES)("a port already in use stops the cluster with exit 1 and says so (ENGINE=%s)", async (engine) => {
    const port = await freePort();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen({ port, host: "127.0.0.1", exclusive: true }, resolve));
    try {
      const result = await runMain({ PORT: String(port), WORKERS: "2", ENGINE: engine });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/cannot listen on 127\.0\.0\.1:\d+/);
    } finally {
      blocker.close();
    }
  });
});
