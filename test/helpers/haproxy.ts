import { execSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ensureDebianPackage, stopper, waitForPort, type ChildService } from "./redis";
import { freePort, ROOT } from "./server";

/**
 * HAProxy from Debian with `docs/haproxy.cfg`, its example addresses replaced: it listens on a
 * free loopback port and balances over `upstreams` (servers m1, m2, … with cookies m1, m2, …).
 */
export async function startHaproxy(upstreams: number[]): Promise<ChildService & { output: string[] }> {
  ensureDebianPackage("/usr/sbin/haproxy", "haproxy");
  const dir = mkdtempSync(path.join(os.tmpdir(), "haproxy-test-"));
  const port = await freePort();
  let conf = readFileSync(path.join(ROOT, "docs", "haproxy.cfg"), "utf8");
  const replace = (pattern: RegExp, by: string | ((...groups: string[]) => string)) => {
    if (!pattern.test(conf)) throw new Error(`docs/haproxy.cfg: ${pattern} not found`);
    conf = conf.replace(pattern, by as (...groups: string[]) => string);
  };
  replace(
    /^(\s*)server m1 10\.0\.0\.11:3000 (.*)cookie m1$/m,
    upstreams.map((p, i) => `$1server m${i + 1} 127.0.0.1:${p} $2cookie m${i + 1}`).join("\n"),
  );
  replace(/^\s*server m\d+ 10\.0\.0\.\d+:3000.*\n/gm, "");
  replace(/^(\s*)bind :80$/m, `$1bind 127.0.0.1:${port}`);
  // maxconn within this machine's descriptor limit (HAProxy needs about two per connection)
  const hardLimit = Number(execSync("ulimit -Hn", { shell: "/bin/sh" }).toString().trim()) || 1024;
  replace(/^(\s*)maxconn (\d+)$/m, (_, indent: string, value: string) => `${indent}maxconn ${Math.min(Number(value), Math.floor((hardLimit - 100) / 2))}`);
  const file = path.join(dir, "haproxy.cfg");
  writeFileSync(file, conf);
  // -db: foreground, no daemon
  const child = spawn("/usr/sbin/haproxy", ["-db", "-f", file], { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => output.push(chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => output.push(chunk));
  const service = { port, child, output, stop: stopper(child, () => rmSync(dir, { recursive: true, force: true })) };
  try {
    await waitForPort(port);
  } catch (err) {
    await service.stop();
    throw new Error(`haproxy did not start: ${(err as Error).message}; ${output.join("")}`);
  }
  return service;
}
