import { execSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort, ROOT } from "./server";

/** Installs Debian packages whose binary is missing (the tests run as root). */
export function ensureDebianPackage(binary: string, pkg: string): void {
  if (existsSync(binary)) return;
  execSync(`apt-get update && apt-get install -y ${pkg}`, {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    timeout: 10 * 60_000,
  });
  if (!existsSync(binary)) throw new Error(`${binary} is still missing after apt-get install ${pkg}`);
}

export interface ChildService {
  port: number;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves once it exited. */
  stop(timeoutMs?: number): Promise<void>;
}

/** `stop()` for a child service: SIGTERM, SIGKILL after a timeout, then `cleanup`. */
export function stopper(child: ChildProcess, cleanup: () => void = () => undefined) {
  return async (timeoutMs = 5000) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      await exited;
      clearTimeout(timer);
    }
    cleanup();
  };
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
export async function waitForPort(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A `redis-server` of our own on a free loopback port, without persistence. */
export async function startRedisServer(): Promise<ChildService & { url: string }> {
  ensureDebianPackage("/usr/bin/redis-server", "redis-server");
  const port = await freePort();
  const child = spawn("/usr/bin/redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  const service = { port, child, url: `redis://127.0.0.1:${port}`, stop: stopper(child) };
  try {
    await waitForPort(port);
  } catch (err) {
    await service.stop();
    throw err;
  }
  return service;
}

/**
 * nginx from Debian with `docs/nginx.conf`, its example addresses replaced: it listens on a free
 * loopback port and balances over `upstreams`; pid, logs and temp files in a temp folder.
 */
export async function startNginx(upstreams: number[]): Promise<ChildService> {
  ensureDebianPackage("/usr/sbin/nginx", "nginx");
  const dir = mkdtempSync(path.join(os.tmpdir(), "nginx-test-"));
  const port = await freePort();
  let conf = readFileSync(path.join(ROOT, "docs", "nginx.conf"), "utf8");
  const replace = (pattern: RegExp, by: string) => {
    if (!pattern.test(conf)) throw new Error(`docs/nginx.conf: ${pattern} not found`);
    conf = conf.replace(pattern, by);
  };
  replace(/^(\s*)server 10\.0\.0\.11:3000(.*)$/m, upstreams.map((p) => `$1server 127.0.0.1:${p}$2`).join("\n"));
  replace(/^\s*server 10\.0\.0\.\d+:3000.*\n/gm, "");
  replace(/listen 80;/, `listen 127.0.0.1:${port};`);
  replace(/\/var\/log\/nginx\//g, `${dir}/`);
  for (const temp of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
    conf = conf.replace(/http \{/, `http {\n  ${temp}_temp_path ${dir}/${temp};`);
  }
  const file = path.join(dir, "nginx.conf");
  writeFileSync(file, conf);
  const child = spawn("/usr/sbin/nginx", ["-p", dir, "-c", file, "-g", `daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;`], {
    stdio: "ignore",
  });
  const service = { port, child, stop: stopper(child, () => rmSync(dir, { recursive: true, force: true })) };
  try {
    await waitForPort(port);
  } catch (err) {
    await service.stop();
    throw new Error(`nginx did not start: ${(err as Error).message}; ${existsSync(`${dir}/error.log`) ? readFileSync(`${dir}/error.log`, "utf8") : ""}`);
  }
  return service;
}
