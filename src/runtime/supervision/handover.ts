import createDebug from "debug";
import { closeSync, fsyncSync, lstatSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import v8 from "node:v8";
import type { Logger } from "../../log/logger";

const debug = createDebug("runtime:supervisor:handover");

const VERSION = 1;
/** A handover older than this (ms) is stale: its workers have stopped waiting for a successor. */
const MAX_AGE_MS = 120_000;

/**
 * What a primary being replaced (`pm2 reload`: pm2 stops it, then starts the next one) leaves for
 * the next primary: its workers, which keep the port until the next workers listen, and its
 * backend's state (the recovery log: sessions and the broadcasts they may have missed).
 */
export interface Handover {
  version: typeof VERSION;
  writtenAt: number;
  port: number;
  /** The entry script the workers run (checked before they are signalled: PIDs get reused). */
  entry: string;
  /** The old generation's private sockets' folder, removed once its workers are gone. */
  runtimeDir: string;
  /** PIDs of the workers that kept the port. */
  workers: number[];
  /** The backend primary's state (see `Backend.primary`). */
  backend: unknown;
}

/** Where the handover of the runtime on `port` is kept: the temporary folder, this user's only. */
export function handoverPath(port: number): string {
  const user = typeof process.getuid === "function" ? process.getuid() : os.userInfo().username;
  return path.join(os.tmpdir(), `socketio-runtime-${user}-${port}.handover`);
}

/** Writes the handover (readable by this user only; atomically: the next primary never reads half of it). */
export function writeHandover(handover: Omit<Handover, "version" | "writtenAt">): string {
  const file = handoverPath(handover.port);
  const temporary = `${file}.${randomBytes(6).toString("hex")}`;
  const fd = openSync(temporary, "wx", 0o600);
  try {
    writeSync(fd, v8.serialize({ ...handover, version: VERSION, writtenAt: Date.now() }));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
  return file;
}

/**
 * The handover left for the runtime on `port`, if any (it is removed: only one primary takes it).
 * One that is stale, not this user's, or unreadable is ignored, with the reason logged.
 */
export function takeHandover(port: number, log: Logger): Handover | undefined {
  const file = handoverPath(port);
  let bytes: Buffer;
  try {
    const stat = lstatSync(file);
    if (!stat.isFile() || (typeof process.getuid === "function" && stat.uid !== process.getuid()) || (stat.mode & 0o077) !== 0) {
      log.warn({ event: "handover-ignored", file }, `ignoring ${file}: not a private file of this user`);
      return undefined;
    }
    bytes = readFileSync(file);
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") debug("cannot read %s: %s", file, (err as Error).message);
    return undefined;
  }
  try {
    const handover = v8.deserialize(bytes) as Handover;
    if (handover.version !== VERSION || handover.port !== port) throw new Error("another format or port");
    if (Date.now() - handover.writtenAt > MAX_AGE_MS) throw new Error(`written ${Math.round((Date.now() - handover.writtenAt) / 1000)} s ago`);
    return handover;
  } catch (err) {
    log.warn({ event: "handover-ignored", file }, `ignoring the previous primary's handover: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * The next generation listens: the previous primary's workers are told to stop (SIGTERM; they
 * have no sessions left and exit at once). Each PID is checked first to still run `entry`.
 * Resolves once they are gone (or after `timeoutMs`), their private folder removed.
 */
export async function retireHandedOverWorkers(handover: Handover, timeoutMs: number, log: Logger): Promise<number> {
  const ours = handover.workers.filter((pid) => runs(pid, handover.entry));
  for (const pid of ours) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // gone meanwhile
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (ours.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (!ours.some(alive)) rmSync(handover.runtimeDir, { recursive: true, force: true });
  log.info({ event: "handover-done", workers: ours.length }, `the previous primary's ${ours.length} workers stopped`);
  return ours.length;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether process `pid` runs the script `entry` (Linux: its command line; elsewhere: alive). */
function runs(pid: number, entry: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(entry);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT" && process.platform !== "linux" && alive(pid);
  }
}
