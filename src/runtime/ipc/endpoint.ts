import type { RequestOptions } from "./messages";

interface Pending {
  type: string;
  /** The worker asked (primary end); `undefined` at a worker's end (the primary). */
  peer: number | undefined;
  resolve: (reply: unknown) => void;
  fail: (reason: string) => void;
  timer: NodeJS.Timeout;
}

/**
 * What both ends of the IPC channel share: the one listener of each notice type and the one
 * handler of each request type, and the requests waiting for their answer. Ids are unique per
 * process; an answer settles its request only if its id, its type and its sender match.
 */
export abstract class Endpoint<Listener, Handler> {
  protected readonly listeners = new Map<string, Listener>();
  protected readonly handlers = new Map<string, Handler>();
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  protected register<T>(registry: Map<string, T>, kind: string, type: string, value: T): void {
    if (registry.has(type)) throw new Error(`IPC ${kind} ${type} already has one`);
    registry.set(type, value);
  }

  /**
   * Starts a request to `peer`: `send(id)` writes it. It resolves with the answer, or with
   * `options.fallback()` (else rejects) when it cannot be sent, is not answered within
   * `options.timeoutMs`, or fails on the other side.
   */
  protected ask<R>(type: string, peer: number | undefined, options: RequestOptions<R>, send: (id: number) => void): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const answered = (reply: unknown) => {
        options.onAnswer?.(reply as R);
        resolve(reply as R);
      };
      const fail = (reason: string) => {
        if (options.fallback) answered(options.fallback());
        else reject(new Error(`${type}${peer === undefined ? "" : ` to worker ${peer}`}: ${reason}`));
      };
      const id = this.nextId++;
      const timer = setTimeout(() => this.settle(id, undefined, `no answer within ${options.timeoutMs} ms`), options.timeoutMs);
      this.pending.set(id, { type, peer, resolve: answered, fail, timer });
      send(id);
    });
  }

  /** An answer arrived: settles its request when it is the one asked (same id, type and peer). */
  protected answered(id: number, type: string, peer: number | undefined, body: unknown, error: string | undefined): boolean {
    const pending = this.pending.get(id);
    if (!pending || pending.type !== type || pending.peer !== peer) return false;
    this.settle(id, body, error);
    return true;
  }

  /** Settles request `id` with `body`, or as failed with `error`. */
  protected settle(id: number, body: unknown, error: string | undefined): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (error !== undefined) pending.fail(error);
    else pending.resolve(body);
  }

  /** Fails every request to `peer` (all of them when `undefined`): it is gone. */
  protected abandon(peer: number | undefined, reason: string): void {
    for (const [id, pending] of this.pending) if (peer === undefined || pending.peer === peer) this.settle(id, undefined, reason);
  }
}
