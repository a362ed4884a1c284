// examples/chat, a user project of the package (its dependency is file:../..): installed with its
// own lock (npm ci, from npm's cache when it has the packages), then its own test (node:test, the
// official client, the application on 2 workers through createRuntime).
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { nodeEnv } from "./helpers/command";
import { ROOT } from "./helpers/server";

const run = promisify(execFile);
const EXAMPLE = path.join(ROOT, "examples", "chat");

interface Finished {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `npm args` in the example (killed after `timeoutMs`), whatever its exit code. */
async function npm(args: string[], timeoutMs: number): Promise<Finished> {
  try {
    const { stdout, stderr } = await run("npm", args, { cwd: EXAMPLE, env: nodeEnv(), timeout: timeoutMs, killSignal: "SIGKILL" });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === "number" ? failed.code : 1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

describe("examples/chat", () => {
  it(
    "installs with its lock and passes its own test",
    async () => {
      const installed = await npm(["ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], 150_000);
      expect(installed.code, installed.stderr).toBe(0);
      const tested = await npm(["test"], 180_000);
      const output = `${tested.stdout}\n${tested.stderr}`;
      expect(tested.code, output.slice(-4000)).toBe(0);
      expect(output).toMatch(/ℹ pass [3-9]\d*/);
      expect(output).toMatch(/ℹ fail 0/);
    },
    360_000,
  );
});
