import { spawn } from "node:child_process";
import { MAIN, ROOT } from "./server";

export interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/main.js` with `env` to completion (killed after `timeoutMs`). */
export function runMain(env: Record<string, string>, timeoutMs = 30_000): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN], { cwd: ROOT, env: { ...process.env, HOST: "127.0.0.1", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export { isAlive } from "../../bench/lib/processes";
