import { execFileSync } from "node:child_process";
import path from "node:path";
import type { UwsCheck } from "../../src/runtime/engines/uws/primary";
import { ROOT } from "./server";

/**
 * What the runtime's own check says about uWebSockets.js on this machine and this Node (run once per
 * test file, in a child process with the built `dist/`, as the primary runs it).
 */
function checkUwsHere(): UwsCheck {
  const module = path.join(ROOT, "dist", "runtime", "engines", "uws", "primary.js");
  const script = `process.stdout.write(JSON.stringify(require(${JSON.stringify(module)}).checkUws()))`;
  return JSON.parse(execFileSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" })) as UwsCheck;
}

/** The uWS check on this machine (see {@link ENGINES}). */
export const UWS: UwsCheck = checkUwsHere();

/**
 * `REQUIRE_UWS=1` (CI on Node 20, and the Debian 13 run on Node 24) makes a machine where uWS cannot
 * serve an error, instead of a suite that quietly tests the Node engine only.
 */
if (!UWS.ok && process.env.REQUIRE_UWS === "1") {
  throw new Error(`REQUIRE_UWS=1, but uWebSockets.js cannot serve here: ${UWS.reason}`);
}

/**
 * The engines the tests run on: both where uWebSockets.js can serve, else `node` only (ENGINE=uws
 * falls back to it there; `test/engine-build.test.ts` checks the fallback's one line).
 */
export const ENGINES: ReadonlyArray<"uws" | "node"> = UWS.ok ? ["uws", "node"] : ["node"];

/**
 * The engine a uWS-only suite runs on: `uws` unless the environment variable `name` says `node`
 * (to measure that engine where it does not pass yet). The suite is skipped where uWS cannot serve
 * and `uws` is asked for: see {@link skipUnlessServes}.
 */
export function engineFromEnv(name: string): "uws" | "node" {
  return process.env[name] === "node" ? "node" : "uws";
}

/** Whether a suite on `engine` must be skipped here (uWS asked for, and it cannot serve). */
export function skipUnlessServes(engine: "uws" | "node"): boolean {
  return engine === "uws" && !UWS.ok;
}
