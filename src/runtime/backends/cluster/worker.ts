import type { ServerOptions } from "socket.io";
import type { Config } from "../../../config/env";
import type { SharedState, StateChange, StateOperation, StateResult } from "../../../state/shared-state";
import type { WorkerChannel } from "../../ipc/worker";
import type { BackendWorker } from "../backend";
import { recoveringClusterAdapter } from "./recovering-adapter";

/** Longest a state operation may wait for the primary (ms). */
const STATE_TIMEOUT_MS = 5000;

/** The cluster backend's worker half: the recovering cluster adapter and the shared state held by the primary. */
export async function startClusterWorker({ config, channel }: { config: Config; channel: WorkerChannel }): Promise<BackendWorker> {
  // this worker's origin, and where the recovery log stands: every later broadcast is forwarded here after this answer
  const joined = config.recoveryWindow > 0 ? await channel.request("recovery:join", {}, { timeoutMs: STATE_TIMEOUT_MS }) : undefined;
  return {
    adapter: recoveringClusterAdapter(channel, joined) as unknown as ServerOptions["adapter"],
    state: new ClusterState(channel),
    close: () => Promise.resolve(),
  };
}

/** {@link SharedState} in a worker: every operation is a request to the primary (`./primary.ts`). */
class ClusterState implements SharedState {
  private readonly listeners: Array<(change: StateChange) => void> = [];

  constructor(private readonly channel: WorkerChannel) {
    channel.on("state:released", ({ change }) => {
      for (const listener of this.listeners) listener(change);
    });
  }

  private ask<T extends StateResult>(operation: StateOperation): Promise<T> {
    return this.channel.request("state:operation", operation, { timeoutMs: STATE_TIMEOUT_MS }).then(
      (result) => result as T,
      (err: unknown) => {
        throw new Error(`shared state: ${(err as Error).message}`);
      },
    );
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
