import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  kernel: string;
  node: string;
  /** Load average when the run started: another busy process skews every figure. */
  loadAverage: number[];
  /** Open-file limit (soft/hard) the harness could give its children. */
  openFiles: { soft: number; hard: number };
  ephemeralPorts: string;
  packages: Record<string, string>;
  /** The product's source: git commit and the files under src/ that differ from it. */
  product: { commit: string; uncommittedSrcFiles: number };
}

const PACKAGES = [
  "socket.io",
  "engine.io",
  "socket.io-adapter",
  "uWebSockets.js",
  "@socket.io/sticky",
  "@socket.io/cluster-adapter",
  "ws",
  "autocannon",
  "typescript",
];

export function packageVersion(root: string, name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")) as {
      version: string;
      name: string;
    };
    return pkg.name === name ? pkg.version : `${pkg.name}@${pkg.version}`;
  } catch {
    return "missing";
  }
}

export function openFileLimits(): { soft: number; hard: number } {
  try {
    const out = execFileSync("bash", ["-c", "ulimit -Sn; ulimit -Hn"], { encoding: "utf8" }).trim().split("\n");
    const parse = (s: string | undefined) => (s === "unlimited" ? 1 << 30 : Number(s));
    return { soft: parse(out[0]), hard: parse(out[1]) };
  } catch {
    return { soft: 1024, hard: 1024 };
  }
}

function read(file: string): string {
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    return "unknown";
  }
}

function productSource(root: string): MachineInfo["product"] {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return { commit, uncommittedSrcFiles: dirty.split("\n").filter(Boolean).length };
  } catch {
    return { commit: "unknown", uncommittedSrcFiles: 0 };
  }
}

export function machineInfo(root: string): MachineInfo {
  const cpus = os.cpus();
  const packages: Record<string, string> = {};
  for (const name of PACKAGES) packages[name] = packageVersion(root, name);
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.arch()}`,
    kernel: os.release(),
    node: process.version,
    loadAverage: os.loadavg().map((n) => Math.round(n * 100) / 100),
    openFiles: openFileLimits(),
    ephemeralPorts: read("/proc/sys/net/ipv4/ip_local_port_range").replace(/\s+/, "-"),
    packages,
    product: productSource(root),
  };
}
