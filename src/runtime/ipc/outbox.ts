import type { Batch, Envelope } from "./messages";

/** Writes one message to the other end. */
export type WireWrite = (message: Envelope | Batch) => void;

/**
 * The messages to one peer (the primary's to one worker, or a worker's to the primary), written
 * together: what is queued during an event-loop turn leaves in one write at the end of the turn
 * (`setImmediate`), a {@link Batch} when there is more than one, in the order queued (the peer
 * handles them in that order, as if they came one by one). Under load this turns one write per
 * broadcast and peer into one per turn and peer. A message that must leave now (one whose handle
 * travels beside it; a worker's request, or its notices before a packet to a client: `./worker.ts`)
 * flushes the queue first, so that nothing queued before it is overtaken.
 */
export class Outbox {
  private queue: Envelope[] = [];
  private scheduled = false;

  constructor(private readonly write: WireWrite) {}

  /** Queues `message` for the end of this turn. */
  push(message: Envelope): void {
    this.queue.push(message);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Writes what is queued now. */
  flush(): void {
    this.scheduled = false;
    const messages = this.queue;
    if (messages.length === 0) return;
    this.queue = [];
    this.write(messages.length === 1 ? messages[0]! : { rt: "batch", messages });
  }

  /** Drops what is queued (the peer is gone). */
  clear(): void {
    this.queue = [];
  }
}
