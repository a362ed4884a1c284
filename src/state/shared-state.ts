/**
 * State that must be the same for every worker: the online count, the username registry, room
 * counters. Every operation is atomic across the cluster. What a process claims or counts is
 * leased to it: when it dies, its claims are released and its counter contributions withdrawn.
 *
 * Implementations: `runtime/backends/cluster/` (held by the primary, one machine) and
 * `runtime/backends/redis/` (in Redis, for several machines).
 */
export interface SharedState {
  /**
   * Claims `key` in `space` for `holder`. Resolves `true` when `holder` now holds it (newly, or
   * already), `false` when someone else does.
   */
  claim(space: string, key: string, holder: string): Promise<boolean>;
  /** Releases `key` in `space` if `holder` holds it; resolves whether it did. */
  release(space: string, key: string, holder: string): Promise<boolean>;
  /** The keys held in `space`, sorted. */
  keys(space: string): Promise<string[]>;
  /** Adds `delta` to counter `name` and resolves its new cluster-wide value. */
  add(name: string, delta: number): Promise<number>;
  /** The cluster-wide value of counter `name`. */
  value(name: string): Promise<number>;
  /** The next number (1, 2, 3, …) of sequence `name`; never goes back, even when processes die. */
  next(name: string): Promise<number>;
  /**
   * Called when state changed without this process asking: a dead process's claims and counts
   * were released. Every process is told, once.
   */
  onReleased(listener: (change: StateChange) => void): void;
}

/** What a release touched. */
export interface StateChange {
  spaces: string[];
  counters: string[];
}

/** A shared-state operation, as a backend that serves several processes receives it. */
export type StateOperation =
  | { op: "claim"; space: string; key: string; holder: string }
  | { op: "release"; space: string; key: string; holder: string }
  | { op: "keys"; space: string }
  | { op: "add"; name: string; delta: number }
  | { op: "value"; name: string }
  | { op: "next"; name: string };

/** What a {@link StateOperation} answers. */
export type StateResult = boolean | number | string[];
