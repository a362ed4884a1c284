import type { StateChange } from "../shared-state";

/** A shared-state operation a worker asks the primary to run. */
export type StateOperation =
  | { op: "claim"; space: string; key: string; holder: string }
  | { op: "release"; space: string; key: string; holder: string }
  | { op: "keys"; space: string }
  | { op: "add"; name: string; delta: number }
  | { op: "value"; name: string }
  | { op: "next"; name: string };

export type StateRequest = { type: "rt:state"; id: number } & StateOperation;
export type StateReply = { type: "rt:state-reply"; id: number; result: boolean | number | string[] };
export type StateReleased = { type: "rt:state-released"; change: StateChange };
