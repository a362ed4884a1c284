import createDebug from "debug";
import { Endpoint } from "./endpoint";
import { Outbox } from "./outbox";
import { answerRequest, envelopesOf, type Batch, type Envelope, type PrimaryNotices, type PrimaryRequests, type RequestOptions, type WorkerNotices, type WorkerRequests } from "./messages";

const debug = createDebug("runtime:ipc:worker");

type NoticeListener<T extends keyof PrimaryNotices> = (body: PrimaryNotices[T], handle: unknown) => void;
type RequestHandler<T extends keyof PrimaryRequests> = (body: PrimaryRequests[T]["body"]) => PrimaryRequests[T]["reply"] | Promise<PrimaryRequests[T]["reply"]>;

/**
 * A worker's end of the IPC channel to the primary (see `./messages.ts` for the catalogue): it
 * sends notices and requests, and dispatches the primary's notices and requests to the one
 * listener or handler registered for each type.
 *
 * Notices are written together, once per event-loop turn (`./outbox.ts`), as the primary writes
 * to its workers: a worker that sends many broadcasts in a turn makes one write, not one each.
 * What must be on its way before the client hears of it is written earlier, by {@link flush}:
 * the runtime flushes before every packet Socket.IO writes to one client on its own account
 * (`runtime/worker.ts`): an acked broadcast has left this process before its ack, a new session's
 * rooms before its CONNECT (a worker killed in between loses both or only the packet). Requests
 * and replies flush what is queued, then are written at once.
 */
export class WorkerChannel extends Endpoint<NoticeListener<never>, RequestHandler<never>> {
  private readonly outbox = new Outbox((message) => this.write(message));

  constructor() {
    super();
    process.on("message", (message: unknown, handle: unknown) => {
      for (const envelope of envelopesOf(message)) this.receive(envelope, handle);
    });
    // the primary is gone: what waits for it gets its fallback now
    process.on("disconnect", () => {
      this.outbox.clear();
      this.abandon(undefined, "the primary is gone");
    });
  }

  /** Whether the primary can be reached. */
  get connected(): boolean {
    return Boolean(process.send) && process.connected;
  }

  /** Queues a notice: it leaves at the end of this event-loop turn, or at the next {@link flush}. */
  notify<T extends keyof WorkerNotices>(type: T, body: WorkerNotices[T]): void {
    if (this.connected) this.outbox.push({ rt: "notice", type, body });
  }

  /** Writes the queued notices now. */
  flush(): void {
    this.outbox.flush();
  }

  /** Sends a notice and resolves once it is written (or at once without a primary, or after `timeoutMs`). */
  notifyAndFlush<T extends keyof WorkerNotices>(type: T, body: WorkerNotices[T], timeoutMs = 1000): Promise<void> {
    return new Promise((resolve) => {
      if (!this.connected) return resolve();
      setTimeout(resolve, timeoutMs).unref();
      this.writeNow({ rt: "notice", type, body }, () => resolve());
    });
  }

  request<T extends keyof WorkerRequests>(
    type: T,
    body: WorkerRequests[T]["body"],
    options: RequestOptions<WorkerRequests[T]["reply"]>,
  ): Promise<WorkerRequests[T]["reply"]> {
    return this.ask(type, undefined, options, (id) => {
      if (!this.connected) return this.settle(id, undefined, "not running under the cluster primary");
      this.writeNow({ rt: "request", type, id, body }, (err) => err && this.settle(id, undefined, err.message));
    });
  }

  /** The one listener of a primary notice type. */
  on<T extends keyof PrimaryNotices>(type: T, listener: NoticeListener<T>): void {
    this.register(this.listeners, "notice", type, listener as unknown as NoticeListener<never>);
  }

  /** The one handler of a primary request type. */
  handle<T extends keyof PrimaryRequests>(type: T, handler: RequestHandler<T>): void {
    this.register(this.handlers, "request", type, handler as unknown as RequestHandler<never>);
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
        const reply = (answer: { body?: unknown; error?: string }) => this.writeNow({ rt: "reply", type: message.type, id: message.id, ...answer });
        if (!handler) return reply({ error: `no handler for ${message.type}` });
        // a synchronous handler answers at once, in the order the requests came
        answerRequest(() => handler(message.body as never), reply);
        return;
      }
      case "reply":
        if (!this.answered(message.id, message.type, undefined, message.body, message.error)) debug("stray reply %s #%d", message.type, message.id);
        return;
    }
  }

  /** Writes `message` now, after what is queued (so that it overtakes nothing). */
  private writeNow(message: Envelope, callback?: (err: Error | null) => void): void {
    this.outbox.flush();
    this.write(message, callback);
  }

  private write(message: Envelope | Batch, callback?: (err: Error | null) => void): void {
    if (!this.connected) return callback?.(new Error("not connected to the primary"));
    // no callback on the hot path (notices): a write that fails means the primary is gone, and
    // `disconnect` follows
    if (!callback) {
      try {
        process.send!(message);
      } catch (err) {
        // a message that cannot be serialized (a function among a broadcast's arguments): it is
        // dropped, the batch's other messages still go, one by one, and the worker lives on
        debug("a message to the primary cannot be sent: %s", (err as Error).message);
        if (message.rt === "batch") for (const one of message.messages) this.write(one);
      }
      return;
    }
    process.send!(message, undefined, {}, (err: Error | null) => {
      if (err) debug("cannot reach the primary: %s", err.message);
      callback(err);
    });
  }
}
