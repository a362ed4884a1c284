import createDebug from "debug";
import { answerRequest, isEnvelope, type Envelope, type PrimaryNotices, type PrimaryRequests, type RequestOptions, type WorkerNotices, type WorkerRequests } from "./messages";

const debug = createDebug("runtime:ipc:worker");

type NoticeListener<T extends keyof PrimaryNotices> = (body: PrimaryNotices[T], handle: unknown) => void;
type RequestHandler<T extends keyof PrimaryRequests> = (body: PrimaryRequests[T]["body"]) => PrimaryRequests[T]["reply"] | Promise<PrimaryRequests[T]["reply"]>;

interface Pending {
  type: string;
  resolve: (reply: unknown) => void;
  fail: (reason: string) => void;
  timer: NodeJS.Timeout;
}

/**
 * A worker's end of the IPC channel to the primary (see `./messages.ts` for the catalogue): it
 * sends notices and requests, and dispatches the primary's notices and requests to the one
 * listener or handler registered for each type. A request is answered by a reply carrying its id
 * and type; ids are unique in this process, so an answer reaches exactly the request it answers.
 */
export class WorkerChannel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, NoticeListener<never>>();
  private readonly handlers = new Map<string, RequestHandler<never>>();

  constructor() {
    process.on("message", (message: unknown, handle: unknown) => {
      if (isEnvelope(message)) this.receive(message, handle);
    });
    // the primary is gone: what waits for it gets its fallback now
    process.on("disconnect", () => {
      for (const [id, pending] of this.pending) this.settle(id, pending, undefined, "the primary is gone");
    });
  }

  /** Whether the primary can be reached. */
  get connected(): boolean {
    return Boolean(process.send) && process.connected;
  }

  notify<T extends keyof WorkerNotices>(type: T, body: WorkerNotices[T]): void {
    this.write({ rt: "notice", type, body });
  }

  /** Sends a notice and resolves once it is written (or at once without a primary, or after `timeoutMs`). */
  notifyAndFlush<T extends keyof WorkerNotices>(type: T, body: WorkerNotices[T], timeoutMs = 1000): Promise<void> {
    return new Promise((resolve) => {
      if (!this.connected) return resolve();
      setTimeout(resolve, timeoutMs).unref();
      process.send!({ rt: "notice", type, body } satisfies Envelope, undefined, {}, () => resolve());
    });
  }

  request<T extends keyof WorkerRequests>(
    type: T,
    body: WorkerRequests[T]["body"],
    options: RequestOptions<WorkerRequests[T]["reply"]>,
  ): Promise<WorkerRequests[T]["reply"]> {
    return new Promise((resolve, reject) => {
      const answered = (reply: unknown) => {
        options.onAnswer?.(reply as never);
        resolve(reply as never);
      };
      const fail = (reason: string) => {
        if (options.fallback) answered(options.fallback());
        else reject(new Error(`${type}: ${reason}`));
      };
      if (!this.connected) return fail("not running under the cluster primary");
      const id = this.nextId++;
      const timer = setTimeout(() => this.settle(id, this.pending.get(id), undefined, `no answer within ${options.timeoutMs} ms`), options.timeoutMs);
      this.pending.set(id, { type, resolve: answered, fail, timer });
      this.write({ rt: "request", type, id, body }, (err) => err && this.settle(id, this.pending.get(id), undefined, err.message));
    });
  }

  /** The one listener of a primary notice type. */
  on<T extends keyof PrimaryNotices>(type: T, listener: NoticeListener<T>): void {
    if (this.listeners.has(type)) throw new Error(`IPC notice ${type} already has a listener`);
    this.listeners.set(type, listener as unknown as NoticeListener<never>);
  }

  /** The one handler of a primary request type. */
  handle<T extends keyof PrimaryRequests>(type: T, handler: RequestHandler<T>): void {
    if (this.handlers.has(type)) throw new Error(`IPC request ${type} already has a handler`);
    this.handlers.set(type, handler as unknown as RequestHandler<never>);
  }

  private receive(message: Envelope, handle: unknown): void {
    switch (message.rt) {
      case "notice": {
        const listener = this.listeners.get(message.type);
        if (listener) listener(message.body as never, handle);
        else debug("no listener for notice %s", message.type);
        return;
      }
      case "request": {
        const handler = this.handlers.get(message.type);
        const reply = (answer: Partial<Envelope & { rt: "reply" }>) =>
          this.write({ rt: "reply", type: message.type, id: message.id, ...answer });
        if (!handler) return reply({ error: `no handler for ${message.type}` });
        // a synchronous handler answers at once, in the order the requests came
        answerRequest(() => handler(message.body as never), reply);
        return;
      }
      case "reply": {
        const pending = this.pending.get(message.id);
        // addressed: the id is this process's, and the type must be the request's
        if (!pending || pending.type !== message.type) return debug("stray reply %s #%d", message.type, message.id);
        this.settle(message.id, pending, message.body, message.error);
        return;
      }
    }
  }

  private settle(id: number, pending: Pending | undefined, body: unknown, error: string | undefined): void {
    if (!pending) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    if (error !== undefined) pending.fail(error);
    else pending.resolve(body);
  }

  private write(message: Envelope, callback?: (err: Error | null) => void): void {
    if (!this.connected) return callback?.(new Error("not connected to the primary"));
    // no callback on the hot path (notices): a write that fails means the primary is gone, and
    // `disconnect` follows
    if (!callback) {
      process.send!(message);
      return;
    }
    process.send!(message, undefined, {}, (err: Error | null) => {
      if (err) debug("cannot reach the primary: %s", err.message);
      callback(err);
    });
  }
}

