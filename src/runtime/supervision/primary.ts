import createDebug from "debug";
import cluster, { type Worker } from "node:cluster";
import type { Logger } from "../../log/logger";
import type { PrimaryChannel } from "../ipc/primary";

const debug = createDebug("runtime:supervisor");

export interface SupervisorOptions {
  /** How many workers to keep running. */
  count: number;
  /** Extra environment for every worker. */
  env: Record<string, string>;
  log: Logger;
  /** Called once, when the first generation of workers all listen. */
  onAllReady: () => void;
  /** Called whenever a worker listens. */
  onWorkerReady?: (worker: Worker) => void;
  /** Called when the cluster cannot run (a worker reported a fatal error, or a crash loop). */
  onFatal: (reason: string) => void;
  /** First restart delay after a crash (ms); doubles for each recent crash. Default 200. */
  backoffBaseMs?: number;
  /** Longest restart delay (ms). Default 10000. */
  backoffMaxMs?: number;
  /** Workers dying before they listen this many times in a row is a crash loop. Default 5. */
  maxEarlyDeaths?: number;
  /** More crashes than this within {@link crashWindowMs} is a crash loop. Default `max(10, 3 × count)`. */
  maxCrashesInWindow?: number;
  /** Default 60000. */
  crashWindowMs?: number;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** Being replaced by a rolling restart: takes no new connections, is not restarted when it exits. */
  retiring: boolean;
  /** Resolves once the worker listens (rejects if it exits first). */
  listening: Promise<void>;
  markListening: () => void;
  exited: Promise<void>;
}

/**
 * Keeps `count` workers alive: forks them, replaces a worker that dies with exponential
 * backoff, and gives up with a clear reason when workers crash in a loop.
 */
export class Supervisor {
  private readonly slots = new Map<number, Slot>();
  private readonly crashes: number[] = [];
  private earlyDeaths = 0;
  private stopping = false;
  private announcedReady = false;
  private pendingRestarts = new Set<NodeJS.Timeout>();
  /** Workers replaced after a crash (for `/stats` and, later, metrics). */
  restarts = 0;
  private rolling = false;
  /** Workers handing over (`handOver`) → resolves when each has. */
  private readonly handingOver = new Map<number, () => void>();

  constructor(
    private readonly options: SupervisorOptions,
    private readonly channel: PrimaryChannel,
  ) {
    cluster.on("exit", (worker, code, signal) => this.onExit(worker, code, signal));
    channel.on("worker:ready", (worker) => {
      const slot = this.slots.get(worker.id);
      if (slot) this.onReady(slot);
    });
    channel.on("worker:fatal", (worker, { reason }) => this.options.onFatal(`worker ${worker.id}: ${reason}`));
    // a draining worker's last word; what it sent before has been handled
    channel.on("worker:bye", (worker) => debug("worker %d said goodbye", worker.id));
    channel.on("worker:handed-over", (worker) => this.handingOver.get(worker.id)?.());
  }

  start(): void {
    for (let i = 0; i < this.options.count; i++) this.fork();
  }

  /** Live workers that listen and are not being retired. */
  readyWorkers(): Worker[] {
    return [...this.slots.values()].filter((slot) => slot.ready && !slot.retiring).map((slot) => slot.worker);
  }

  allWorkers(): Worker[] {
    return [...this.slots.values()].map((slot) => slot.worker);
  }

  private fork(): Slot {
    const worker = cluster.fork(this.options.env);
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    let markListening = () => {};
    const listening = new Promise<void>((resolve, reject) => {
      markListening = resolve;
      void exited.then(() => reject(new Error(`worker ${worker.id} exited before listening`)));
    });
    listening.catch(() => undefined);
    const slot: Slot = { worker, ready: false, retiring: false, listening, exited, markListening };
    this.slots.set(worker.id, slot);
    this.options.log.info({ event: "worker-start", worker: worker.id, pid: worker.process.pid }, "worker started");
    worker.on("error", (err) => debug("worker %d channel error: %s", worker.id, err.message));
    return slot;
  }

  private onReady(slot: Slot): void {
    slot.ready = true;
    slot.markListening();
    this.options.onWorkerReady?.(slot.worker);
    this.earlyDeaths = 0;
    if (!this.announcedReady && this.readyWorkers().length === this.options.count) {
      this.announcedReady = true;
      this.options.onAllReady();
    }
  }

  private onExit(worker: Worker, code: number | null, signal: string | null): void {
    const slot = this.slots.get(worker.id);
    this.slots.delete(worker.id);
    if (!slot) return;
    const fields = { event: "worker-exit", worker: worker.id, pid: worker.process.pid, code, signal };
    if (this.stopping || slot.retiring) {
      this.options.log.info(fields, "worker exited");
      return;
    }
    this.options.log.warn(fields, "worker died");
    const now = Date.now();
    const window = this.options.crashWindowMs ?? 60_000;
    this.crashes.push(now);
    while (this.crashes.length > 0 && this.crashes[0]! < now - window) this.crashes.shift();
    if (!slot.ready) this.earlyDeaths++;

    const maxEarly = this.options.maxEarlyDeaths ?? 5;
    const maxCrashes = this.options.maxCrashesInWindow ?? Math.max(10, 3 * this.options.count);
    if (this.earlyDeaths >= maxEarly || this.crashes.length > maxCrashes) {
      this.options.onFatal(
        `workers are crashing in a loop (${this.crashes.length} deaths in ${Math.round(window / 1000)} s, ` +
          `${this.earlyDeaths} in a row before listening); giving up`,
      );
      return;
    }
    const base = this.options.backoffBaseMs ?? 200;
    const delay = Math.min(base * 2 ** (this.crashes.length - 1), this.options.backoffMaxMs ?? 10_000);
    this.options.log.info({ event: "worker-restart", after: worker.id, delayMs: delay }, "restarting worker");
    const timer = setTimeout(() => {
      this.pendingRestarts.delete(timer);
      if (this.stopping) return;
      this.restarts++;
      this.fork();
    }, delay);
    this.pendingRestarts.add(timer);
  }

  /**
   * Zero-downtime rolling restart (SIGHUP): replaces every worker with freshly loaded code, each
   * client being moved once. First the new generation: one replacement per worker, all listening.
   * Then every old worker stops taking new clients at once (new connections go to the new
   * generation only), and the old workers drain one at a time (each closes its sessions; their
   * clients reconnect, to new workers, and recover). Resolves when every old worker is gone.
   */
  async rollingRestart(drainTimeoutMs: number): Promise<void> {
    if (this.rolling || this.stopping) return;
    this.rolling = true;
    const log = this.options.log;
    const old = [...this.slots.values()];
    log.info({ event: "rolling-restart", workers: old.length }, "rolling restart");
    try {
      const fresh = old.map(() => this.fork());
      await Promise.all(fresh.map((slot) => slot.listening));
      for (const slot of old) {
        if (!this.slots.has(slot.worker.id)) continue; // it died meanwhile
        slot.retiring = true;
        this.channel.send(slot.worker, "worker:stop-accepting", {});
      }
      log.info({ event: "rolling-restart-switched", workers: fresh.map((slot) => slot.worker.id) }, "new connections go to the new workers");
      for (const [i, slot] of old.entries()) {
        if (this.stopping) return;
        if (!this.slots.has(slot.worker.id)) continue; // it died meanwhile
        this.channel.send(slot.worker, "worker:shutdown", {});
        const timer = setTimeout(() => slot.worker.process.kill("SIGKILL"), drainTimeoutMs);
        await slot.exited;
        clearTimeout(timer);
        log.info({ event: "worker-replaced", old: slot.worker.id, new: fresh[i]!.worker.id }, "worker replaced");
      }
      log.info({ event: "rolling-restart-done" }, "rolling restart done");
    } catch (err) {
      log.error({ event: "rolling-restart-failed" }, `rolling restart stopped: ${(err as Error).message}`);
    } finally {
      this.rolling = false;
    }
  }

  /**
   * The primary is being replaced (`pm2 reload`): stops replacing workers and tells each to hand
   * over (close its sessions, keep the port). Resolves with the PIDs of those that did (or are
   * still alive after `timeoutMs`); they outlive this primary until the next one stops them.
   */
  async handOver(timeoutMs: number): Promise<number[]> {
    this.stopping = true;
    for (const timer of this.pendingRestarts) clearTimeout(timer);
    this.pendingRestarts.clear();
    const slots = [...this.slots.values()];
    const done = slots.map(
      (slot) =>
        new Promise<void>((resolve) => {
          this.handingOver.set(slot.worker.id, resolve);
          void slot.exited.then(resolve);
        }),
    );
    for (const slot of slots) this.channel.send(slot.worker, "worker:handover", {});
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(done), new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    this.handingOver.clear();
    return [...this.slots.values()].flatMap((slot) => (slot.worker.process.pid ? [slot.worker.process.pid] : []));
  }

  /** Stops replacing workers and tells each to drain. */
  stop(): void {
    this.stopping = true;
    for (const timer of this.pendingRestarts) clearTimeout(timer);
    this.pendingRestarts.clear();
    for (const worker of this.allWorkers()) this.channel.send(worker, "worker:shutdown", {});
  }

  /** Resolves once every worker has exited, killing those still alive after `timeoutMs`. */
  async waitForExit(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.slots.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const slot of this.slots.values()) {
      this.options.log.warn({ event: "worker-kill", worker: slot.worker.id }, "worker did not drain in time");
      slot.worker.process.kill("SIGKILL");
    }
  }
}
