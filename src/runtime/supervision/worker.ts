import cluster from "node:cluster";
import type { Logger } from "../../log/logger";
import type { WorkerChannel } from "../ipc/worker";

/** What the lifecycle runs in the worker. */
export interface WorkerLifecycleHooks {
  /** Stops serving and lets what is in flight finish. */
  drain(reason: string): Promise<void>;
  /** Stops taking new clients (a rolling restart's new generation listens). */
  stopAccepting(): void;
  /** Closes the sessions for the next primary's workers and keeps the port (see `worker:handover`). */
  handOver(): Promise<void>;
  /** Takes new sessions (it started held: the previous generation held the port). */
  serve(): void;
}

/**
 * The worker's half of supervision: it tells the primary that it listens (`worker:ready`) or
 * cannot run (`worker:fatal`), and drains on the primary's `worker:shutdown`, SIGTERM or SIGINT;
 * then its last message (`worker:bye`) is written and it exits. On `worker:handover` (its primary
 * is being replaced) it closes its sessions, answers `worker:handed-over` and lives on without a
 * primary until SIGTERM from the next one, or `orphanLifetimeMs`.
 */
export class WorkerLifecycle {
  private state: "serving" | "handed-over" | "draining" = "serving";

  constructor(
    private readonly channel: WorkerChannel,
    private readonly log: Logger,
    private readonly hooks: WorkerLifecycleHooks,
    /** How long a handed-over worker waits for the next primary's SIGTERM (ms). */
    private readonly orphanLifetimeMs: number,
  ) {
    channel.on("worker:shutdown", () => void this.stop("primary"));
    channel.on("worker:stop-accepting", () => {
      log.info({ event: "stop-accepting" }, "the new workers take new clients");
      this.hooks.stopAccepting();
    });
    channel.on("worker:handover", () => void this.handOver());
    channel.on("worker:serve", () => this.hooks.serve());
    process.on("SIGTERM", () => void this.stop("SIGTERM"));
    process.on("SIGINT", () => void this.stop("SIGINT"));
  }

  /** Whether the worker takes no new clients (`/readyz` answers 503). */
  get isDraining(): boolean {
    return this.state !== "serving";
  }

  /** The worker listens and serves. */
  ready(): void {
    this.channel.notify("worker:ready", {});
  }

  /** The worker cannot run: logged, the primary stops the cluster with `reason`, the worker exits 1. */
  fatal(event: string, reason: string): void {
    this.log.fatal({ event }, reason);
    this.channel.notify("worker:fatal", { reason });
    setTimeout(() => process.exit(1), 100);
  }

  private async handOver(): Promise<void> {
    if (this.state !== "serving") return;
    this.state = "handed-over";
    // the primary exits next: node:cluster must not take this worker down with it
    if (cluster.worker) cluster.worker.exitedAfterDisconnect = true;
    await this.hooks.handOver();
    // everything the closed sessions reported (their recovery state) is written before this
    await this.channel.notifyAndFlush("worker:handed-over", {});
    this.log.info({ event: "handed-over" }, "sessions handed over; the port is kept until the next primary's workers listen");
    setTimeout(() => void this.stop("no successor"), this.orphanLifetimeMs).unref();
  }

  private async stop(reason: string): Promise<void> {
    if (this.state === "draining") return;
    this.state = "draining";
    await this.hooks.drain(reason);
    // IPC is asynchronous: what the sessions' last handlers sent (broadcasts, state) reaches the primary first
    await this.channel.notifyAndFlush("worker:bye", {});
    process.exit(0);
  }
}
