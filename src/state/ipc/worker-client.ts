import type { SharedState, StateChange } from "../shared-state";
import type { StateOperation, StateReleased, StateReply } from "./messages";

/** Longest a state operation may wait for the primary (ms). */
const TIMEOUT_MS = 5000;

/** {@link SharedState} in a worker: every operation is a request to the primary over IPC. */
export class IpcSharedState implements SharedState {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: StateReply["result"]) => void; timer: NodeJS.Timeout }>();
  private readonly listeners: Array<(change: StateChange) => void> = [];

  constructor() {
    process.on("message", (message: unknown) => {
      const typed = message as StateReply | StateReleased | undefined;
      if (typed?.type === "rt:state-reply") {
        const pending = this.waiting.get(typed.id);
        if (!pending) return;
        this.waiting.delete(typed.id);
        clearTimeout(pending.timer);
        pending.resolve(typed.result);
      } else if (typed?.type === "rt:state-released") {
        for (const listener of this.listeners) listener(typed.change);
      }
    });
  }

  private ask<T extends StateReply["result"]>(operation: StateOperation): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`shared state: no answer to ${operation.op} within ${TIMEOUT_MS} ms`));
      }, TIMEOUT_MS);
      this.waiting.set(id, { resolve: resolve as (r: StateReply["result"]) => void, timer });
      if (!process.send) {
        clearTimeout(timer);
        this.waiting.delete(id);
        reject(new Error("shared state: not running under the cluster primary"));
        return;
      }
      process.send({ type: "rt:state", id, ...operation });
    });
  }

  claim(space: string, key: string, holder: string): Promise<boolean> {
    return this.ask({ op: "claim", space, key, holder });
  }
  release(space: string, key: string, holder: string): Promise<boolean> {
    return this.ask({ op: "release", space, key, holder });
  }
  keys(space: string): Promise<string[]> {
    return this.ask({ op: "keys", space });
  }
  add(name: string, delta: number): Promise<number> {
    return this.ask({ op: "add", name, delta });
  }
  value(name: string): Promise<number> {
    return this.ask({ op: "value", name });
  }
  next(name: string): Promise<number> {
    return this.ask({ op: "next", name });
  }
  onReleased(listener: (change: StateChange) => void): void {
    this.listeners.push(listener);
  }
}
