import createDebug from "debug";
import type { StateChange, StateOperation, StateResult } from "../../../state/shared-state";

const debug = createDebug("runtime:state:cluster");

/**
 * The shared state of one machine, held by the primary (`./primary.ts` serves it to the workers).
 * The primary runs one operation at a time, so each is atomic. Claims and counter contributions
 * are recorded per worker and dropped when that worker exits.
 */
export class StateStore {
  private readonly claims = new Map<string, Map<string, { holder: string; worker: number }>>();
  private readonly counters = new Map<string, Map<number, number>>();
  private readonly sequences = new Map<string, number>();

  /** Runs one operation for `worker`. */
  apply(worker: number, operation: StateOperation): StateResult {
    switch (operation.op) {
      case "claim": {
        const space = this.space(operation.space);
        const current = space.get(operation.key);
        if (current && current.holder !== operation.holder) return false;
        space.set(operation.key, { holder: operation.holder, worker });
        return true;
      }
      case "release": {
        const space = this.space(operation.space);
        if (space.get(operation.key)?.holder !== operation.holder) return false;
        space.delete(operation.key);
        return true;
      }
      case "keys":
        return [...this.space(operation.space).keys()].sort();
      case "add": {
        const parts = this.counter(operation.name);
        parts.set(worker, (parts.get(worker) ?? 0) + operation.delta);
        return this.sum(parts);
      }
      case "value":
        return this.sum(this.counter(operation.name));
      case "next": {
        const value = (this.sequences.get(operation.name) ?? 0) + 1;
        this.sequences.set(operation.name, value);
        return value;
      }
    }
  }

  /** Drops a worker's claims and counter contributions; answers what changed. */
  releaseWorker(worker: number): StateChange {
    const change: StateChange = { spaces: [], counters: [] };
    for (const [name, space] of this.claims) {
      for (const [key, claim] of space) {
        if (claim.worker !== worker) continue;
        space.delete(key);
        if (!change.spaces.includes(name)) change.spaces.push(name);
      }
    }
    for (const [name, parts] of this.counters) {
      if (parts.delete(worker)) change.counters.push(name);
    }
    if (change.spaces.length + change.counters.length > 0) debug("released worker %d: %o", worker, change);
    return change;
  }

  private space(name: string) {
    let space = this.claims.get(name);
    if (!space) this.claims.set(name, (space = new Map()));
    return space;
  }

  private counter(name: string) {
    let parts = this.counters.get(name);
    if (!parts) this.counters.set(name, (parts = new Map()));
    return parts;
  }

  private sum(parts: Map<number, number>): number {
    let total = 0;
    for (const value of parts.values()) total += value;
    return total;
  }
}
