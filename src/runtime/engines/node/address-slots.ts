import createDebug from "debug";

const debug = createDebug("runtime:node:slots");

/** 32-bit FNV-1a of a string: stable across processes and restarts, evenly spread. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** `::ffff:10.0.0.1` and `10.0.0.1` are the same client. */
function normalize(address: string): string {
  return address.startsWith("::ffff:") ? address.slice(7) : address;
}

/**
 * Routing by client address (the Node engine with TLS, where the primary cannot read the request
 * to find its session): a client address hashes to one of `count` fixed slots, and each slot is
 * held by one worker. The slots, not the live workers, are hashed over, so that an address keeps
 * its worker while others come and go:
 * - a worker that leaves (dies, or retires in a rolling restart) frees its slot, and the next
 *   worker without a slot (its replacement) takes that same slot: the addresses it served go to
 *   the replacement and no other address moves;
 * - while a slot is empty, its addresses go to the next held slot.
 */
export class AddressSlots {
  /** slot → worker id */
  private readonly slots: Array<number | undefined>;

  constructor(count: number) {
    this.slots = new Array<number | undefined>(Math.max(1, count)).fill(undefined);
  }

  /** The worker (among `ready`, ids in start order) that serves `address`, or `undefined` if none is ready. */
  pick(address: string, ready: readonly number[]): number | undefined {
    this.update(ready);
    const start = fnv1a(normalize(address)) % this.slots.length;
    for (let i = 0; i < this.slots.length; i++) {
      const worker = this.slots[(start + i) % this.slots.length];
      if (worker !== undefined) return worker;
    }
    return ready[0];
  }

  /** Frees the slots of workers that are gone and gives free slots to ready workers without one. */
  private update(ready: readonly number[]): void {
    const live = new Set(ready);
    for (let i = 0; i < this.slots.length; i++) {
      const worker = this.slots[i];
      if (worker !== undefined && !live.has(worker)) {
        debug("slot %d freed by worker %d", i, worker);
        this.slots[i] = undefined;
      }
    }
    const held = new Set(this.slots);
    const waiting = ready.filter((worker) => !held.has(worker)).sort((a, b) => a - b);
    for (let i = 0; i < this.slots.length && waiting.length > 0; i++) {
      if (this.slots[i] !== undefined) continue;
      this.slots[i] = waiting.shift();
      debug("slot %d taken by worker %d", i, this.slots[i]);
    }
  }
}
