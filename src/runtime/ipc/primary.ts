import createDebug from "debug";
import cluster, { type Worker } from "node:cluster";
import { Endpoint } from "./endpoint";
import { Outbox } from "./outbox";
import { answerRequest, envelopesOf, type AnswerLater, type Envelope, type PrimaryNotices, type PrimaryRequests, type RequestOptions, type WorkerNotices, type WorkerRequests } from "./messages";

const debug = createDebug("runtime:ipc:primary");

type NoticeListener<T extends keyof WorkerNotices> = (worker: Worker, body: WorkerNotices[T]) => void;
type RequestHandler<T extends keyof WorkerRequests> = (
  worker: Worker,
  body: WorkerRequests[T]["body"],
) => WorkerRequests[T]["reply"] | Promise<WorkerRequests[T]["reply"]> | AnswerLater<WorkerRequests[T]["reply"]>;

/**
 * The primary's end of the IPC channels to its workers (see `./messages.ts` for the catalogue):
 * the one listener or handler of each worker message type, notices to one worker or all,
 * requests to a worker, and cleanup when a worker exits (its pending requests get their
 * fallback; the subsystems' exit listeners run). Replies carry the request's id and type, and
 * are accepted only from the worker that was asked.
 */
export class PrimaryChannel extends Endpoint<NoticeListener<never>, RequestHandler<never>> {
  private readonly exitListeners: Array<(workerId: number) => void> = [];
  /** What goes to each worker (by id), written once per event-loop turn. */
  private readonly outboxes = new Map<number, Outbox>();

  constructor() {
    super();
    cluster.on("message", (worker: Worker, message: unknown) => {
      for (const envelope of envelopesOf(message)) this.receive(worker, envelope);
    });
    cluster.on("exit", (worker) => {
      this.outboxes.get(worker.id)?.clear();
      this.outboxes.delete(worker.id);
      this.abandon(worker.id, `worker ${worker.id} exited`);
      for (const listener of this.exitListeners) listener(worker.id);
    });
  }

  /** The one listener of a worker notice type. */
  on<T extends keyof WorkerNotices>(type: T, listener: NoticeListener<T>): void {
    this.register(this.listeners, "notice", type, listener as unknown as NoticeListener<never>);
  }

  /** The one handler of a worker request type. */
  handle<T extends keyof WorkerRequests>(type: T, handler: RequestHandler<T>): void {
    this.register(this.handlers, "request", type, handler as unknown as RequestHandler<never>);
  }

  /** Runs `listener` with the id of every worker that exits (after its pending requests were settled). */
  onWorkerExit(listener: (workerId: number) => void): void {
    this.exitListeners.push(listener);
  }

  /** A notice to one worker; `handle` (a socket) travels with it. */
  send<T extends keyof PrimaryNotices>(
    worker: Worker,
    type: T,
    body: PrimaryNotices[T],
    handle?: { handle: unknown; keepOpen: boolean; sent: (err: Error | null) => void },
  ): void {
    if (!worker.isConnected()) {
      handle?.sent(new Error(`worker ${worker.id} is not connected`));
      return;
    }
    const message: Envelope = { rt: "notice", type, body };
    if (!handle) return this.outboxOf(worker).push(message);
    // a handle travels with one message of its own, after everything queued before it
    this.outboxOf(worker).flush();
    worker.send(message, handle.handle as never, { keepOpen: handle.keepOpen }, handle.sent);
  }

  /** A notice to every connected worker (but `except`). */
  broadcast<T extends keyof PrimaryNotices>(type: T, body: PrimaryNotices[T], except?: number): void {
    const message: Envelope = { rt: "notice", type, body };
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker && worker.id !== except && worker.isConnected()) this.outboxOf(worker).push(message);
    }
  }

  /** A request to one worker. */
  request<T extends keyof PrimaryRequests>(
    worker: Worker,
    type: T,
    body: PrimaryRequests[T]["body"],
    options: RequestOptions<PrimaryRequests[T]["reply"]>,
  ): Promise<PrimaryRequests[T]["reply"]> {
    return this.ask(type, worker.id, options, (id) => {
      if (!worker.isConnected()) return this.settle(id, undefined, "not connected");
      this.outboxOf(worker).push({ rt: "request", type, id, body });
    });
  }

  /** The queue of what goes to `worker` this turn. */
  private outboxOf(worker: Worker): Outbox {
    let outbox = this.outboxes.get(worker.id);
    if (!outbox) {
      outbox = new Outbox((message) => {
        if (worker.isConnected()) worker.send(message);
      });
      this.outboxes.set(worker.id, outbox);
    }
    return outbox;
  }

  private receive(worker: Worker, message: Envelope): void {
    switch (message.rt) {
      case "notice": {
        const listener = this.listeners.get(message.type);
        if (listener) listener(worker, message.body as never);
        else debug("no listener for notice %s from worker %d", message.type, worker.id);
        return;
      }
      case "request": {
        const handler = this.handlers.get(message.type);
        const reply = (answer: { body?: unknown; error?: string }) => {
          if (worker.isConnected()) this.outboxOf(worker).push({ rt: "reply", type: message.type, id: message.id, ...answer });
        };
        if (!handler) return reply({ error: `no handler for ${message.type}` });
        // a synchronous handler answers at once, in the order the requests came
        answerRequest(() => handler(worker, message.body as never), reply);
        return;
      }
      case "reply":
        if (!this.answered(message.id, message.type, worker.id, message.body, message.error)) {
          debug("stray reply %s #%d from worker %d", message.type, message.id, worker.id);
        }
        return;
    }
  }
}

/** Tells the process manager that started the primary (pm2 `wait_ready`) that the cluster serves. */
export function tellProcessManagerReady(): void {
  process.send?.("ready");
}

