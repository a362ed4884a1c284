import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";

/** Runs `code` in a child whose stdout is a pipe; `closeFirst`: the reader goes away before it writes. */
function child(code: string, closeFirst: boolean): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ["-r", "sucrase/register", "-e", code], { stdio: ["pipe", "pipe", "inherit"], cwd: __dirname });
    let out = "";
    proc.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    if (closeFirst) proc.stdout.destroy();
    const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
    proc.on("exit", (exitCode) => {
      clearTimeout(timer);
      resolve({ code: exitCode, out });
    });
    proc.stdin.end();
  });
}

const WRITE = `const { lineWriter } = require("./stdout.ts"); const w = lineWriter(1); process.stdin.resume(); process.stdin.on("end", () => { for (let i = 0; i < 3; i++) w.write("línea " + i + "\\n"); process.exit(0); });`;

const LOG = `const { lineWriter } = require("./stdout.ts"); const log = require("pino")({}, lineWriter(1)); process.stdin.resume(); process.stdin.on("end", () => { for (let i = 0; i < 3; i++) log.info("x" + i); process.exit(0); });`;

describe("lineWriter", () => {
  it("writes whole lines, UTF-8 included", async () => {
    expect(await child(WRITE, false)).toEqual({ code: 0, out: "línea 0\nlínea 1\nlínea 2\n" });
  });

  it("drops lines once the reader is gone instead of blocking the process (pino's own destination retries them forever at exit)", async () => {
    expect((await child(WRITE, true)).code).toBe(0);
    expect((await child(LOG, true)).code).toBe(0);
    expect((await child(LOG, false)).out.split("\n").filter(Boolean).map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(["x0", "x1", "x2"]);
  });
});
