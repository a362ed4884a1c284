import type { Logger } from "../../log/logger";
import type { WorkerChannel } from "../ipc/worker";

/**
 * The worker's half of supervision: it tells the primary that it listens (`worker:ready`) or
 * cannot run (`worker:fatal`), and drains on the primary's `worker:shutdown`, SIGTERM or SIGINT;
 * then its last message (`worker:bye`) is written and it exits.
 */
export class WorkerLifecycle {
  private draining = false;

  constructor(
    private readonly channel: WorkerChannel,
    private readonly log: Logger,
    /** Stops serving and lets what is in flight finish. */
    private readonly drain: (reason: string) => Promise<void>,
    /** Stops taking new clients (a rolling restart's new generation listens). */
    private readonly stopAccepting: () => void,
  ) {
    channel.on("worker:shutdown", () => void this.stop("primary"));
    channel.on("worker:stop-accepting", () => {
      log.info({ event: "stop-accepting" }, "the new workers take new clients");
      this.stopAccepting();
    });
    process.on("SIGTERM", () => void this.stop("SIGTERM"));
    process.on("SIGINT", () => void this.stop("SIGINT"));
  }

  /** Whether the worker is draining (`/readyz` answers 503). */
  get isDraining(): boolean {
    return this.draining;
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

  private async stop(reason: string): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    await this.drain(reason);
    // IPC is asynchronous: what the sessions' last handlers sent (broadcasts, state) reaches the primary first
    await this.channel.notifyAndFlush("worker:bye", {});
    process.exit(0);
  }
}
