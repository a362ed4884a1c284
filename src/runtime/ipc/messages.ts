import type { Verdict } from "../admission/address-limits";
import type { ClusterRestoredSession } from "../backends/cluster/recovery-log";
import type { WireOptions, WirePacket, WireSession } from "../backends/rooms";
import type { ProcessReport } from "../metrics/report";
import type { StateChange, StateOperation, StateResult } from "../../state/shared-state";

/**
 * Every message between the primary and its workers, in one catalogue. Four directions:
 * notices (no answer) and requests (one answer each) from a worker to the primary, and the same
 * from the primary to a worker. The key of each entry is its `type` on the wire; the prefix names
 * the subsystem that sends it and, for requests, the one that answers (its primary or worker half).
 *
 * Who answers what (each request type has exactly one handler, registered at start):
 * - `metrics:collect` → `metrics/worker.ts` (the primary collects every worker's report for the
 *   admin port's `/stats` and `/metrics`);
 * - `admission:admit` → `admission/primary.ts`;
 * - `state:operation` → `backends/cluster/primary.ts` (the shared state of one machine);
 * - `recovery:join`, `recovery:restore` → `backends/cluster/primary.ts` (the recovery log).
 * Transport, ids, timeouts and cleanup: `./primary.ts` and `./worker.ts`; no other module sends or
 * listens to IPC messages of ours.
 */
export interface WorkerNotices {
  /** supervision: the worker listens and serves; sent once. */
  "worker:ready": Record<string, never>;
  /** supervision: the worker cannot run (e.g. the port is taken); the primary stops with this reason. */
  "worker:fatal": { reason: string };
  /** supervision: the last message of a draining worker: once written, everything sent before it is too. */
  "worker:bye": Record<string, never>;
  /**
   * supervision (`worker:handover`): the worker's sessions are closed and reported (everything
   * sent before this notice is written); it keeps the port until the next primary's workers listen.
   */
  "worker:handed-over": Record<string, never>;
  /**
   * admission: sessions that closed (`-1`, or moved away) or moved here (`+1`, counted without a
   * check), as `[address, delta]` pairs; always sent before the worker's next `admission:admit`.
   */
  "admission:changes": { changes: Array<[string, 1 | -1]> };
  /**
   * recovery: a recoverable broadcast the worker delivered to its own sockets, number `seq` of its
   * origin: to log and forward to the other workers.
   */
  "recovery:broadcast": { nsp: string; packet: WirePacket; opts: WireOptions; seq: number };
  /**
   * recovery: a socket with a recovery id connected, or its rooms changed; `seen` is the worker's
   * offset when the socket joined: what a client without an offset missed comes after it.
   */
  "recovery:session": { nsp: string; session: Omit<WireSession, "data">; seen: string };
  /** recovery: a socket disconnected for a reason it may recover from. */
  "recovery:persist": { nsp: string; session: WireSession };
  /** recovery: a socket left for good (its session must not be restored). */
  "recovery:forget": { nsp: string; sid: string };
}

export interface WorkerRequests {
  /** admission: may new sessions from these addresses open? Each one admitted is counted and leased to the worker. */
  "admission:admit": { body: { addresses: string[] }; reply: Verdict[] };
  /** state: one shared-state operation, atomic across the machine. */
  "state:operation": { body: StateOperation; reply: StateResult };
  /**
   * recovery: asked once at start: the worker's origin (its broadcasts' numbering) and where the
   * log stands (broadcasts logged later are forwarded to the worker after the answer).
   */
  "recovery:join": { body: Record<string, never>; reply: { origin: number; offset: string } };
  /** recovery: restore session `pid` of namespace `nsp` and the packets after `offset`. */
  "recovery:restore": { body: { nsp: string; pid: string; offset: string }; reply: ClusterRestoredSession | null };
}

export interface PrimaryNotices {
  /** supervision: stop accepting, disconnect clients so that they reconnect elsewhere, exit. */
  "worker:shutdown": Record<string, never>;
  /**
   * supervision (rolling restart): the new generation listens; take no new clients (new
   * connections go to it), keep serving the sessions here until `worker:shutdown`.
   */
  "worker:stop-accepting": Record<string, never>;
  /**
   * supervision (`pm2 reload`): the primary is being replaced. Take no new sessions, close the
   * sessions here (their clients reconnect to the next primary's workers and recover), answer
   * `worker:handed-over`, and keep listening, without a primary, until SIGTERM (from the next
   * primary once its workers listen) or `SHUTDOWN_TIMEOUT`.
   */
  "worker:handover": Record<string, never>;
  /** supervision: the previous generation is gone (a handover): take new sessions (see `ClusterPlan.held`). */
  "worker:serve": Record<string, never>;
  /** recovery: a logged broadcast of another worker (number `seq` of `origin`), to deliver locally. */
  "recovery:deliver": { nsp: string; packet: WirePacket; opts: WireOptions; origin: number; seq: number };
  /** recovery: the worker of `origin` is gone; everything of it (up to `final`) was forwarded before this notice. */
  "recovery:ended": { origin: number; final: number };
  /**
   * recovery: the client of session `sid` came back on another connection while this worker still
   * holds its old one (dead, but not noticed yet): close the old one, so that the session moves now.
   */
  "recovery:evict": { nsp: string; sid: string };
  /** state: a dead worker's claims and counts were released (every other worker is told once). */
  "state:released": { change: StateChange };
  /**
   * routing (`ENGINE=node`): a client connection, sent as the message's handle, with the bytes the
   * primary already read from it (base64).
   */
  "routing:connection": { head: string };
}

export interface PrimaryRequests {
  /** metrics: this worker's report (stats counters and, with `METRICS=on`, its metric families). */
  "metrics:collect": { body: Record<string, never>; reply: ProcessReport };
}

/** The message kinds on the wire. `rt` marks ours among the cluster adapter's and Node's own. */
export type Envelope =
  | { rt: "notice"; type: string; body: unknown }
  | { rt: "request"; type: string; id: number; body: unknown }
  | { rt: "reply"; type: string; id: number; body?: unknown; error?: string };

/** Messages queued during one event-loop turn, written together (see `./outbox.ts`); handled in order. */
export interface Batch {
  rt: "batch";
  messages: Envelope[];
}

/** Whether an IPC message is one of ours. */
export function isEnvelope(message: unknown): message is Envelope {
  const rt = (message as { rt?: unknown } | null)?.rt;
  return (rt === "notice" || rt === "request" || rt === "reply") && typeof (message as { type?: unknown }).type === "string";
}

/** The messages of ours an IPC message carries: itself, those of a batch, or none (not ours). */
export function envelopesOf(message: unknown): Envelope[] {
  if (isEnvelope(message)) return [message];
  const batch = message as Partial<Batch> | null;
  if (batch?.rt === "batch" && Array.isArray(batch.messages)) return batch.messages.filter(isEnvelope);
  return [];
}

/** Options of a request. */
export interface RequestOptions<R> {
  /** Longest the request waits for its answer (ms). */
  timeoutMs: number;
  /**
   * Fail open: the answer to use when there is no channel, no answer in time, or the other side
   * failed. Without it, those reject.
   */
  fallback?: () => R;
  /**
   * Called with the answer (or the fallback) synchronously, as soon as it arrives, before the
   * promise resolves: for state that must be in place before the next IPC message is handled
   * (promise callbacks run only after every message already read).
   */
  onAnswer?: (reply: R) => void;
}

/**
 * An answer a request handler gives later, but sent the moment `start`'s `answer` is called (a
 * promise's answer would go out only after every IPC message already read is handled: messages
 * sent while handling them, computed after the answer, would overtake it).
 */
export class AnswerLater<T> {
  constructor(readonly start: (answer: (value: T) => void) => void) {}
}

/** Runs a request's handler and sends its answer (both channel ends): synchronously when it returns a value (or when an {@link AnswerLater} answers), else once its promise settles. */
export function answerRequest(run: () => unknown, reply: (answer: { body?: unknown; error?: string }) => void): void {
  const failed = (err: unknown) => reply({ error: err instanceof Error ? err.message : String(err) });
  let result: unknown;
  try {
    result = run();
  } catch (err) {
    return failed(err);
  }
  if (result instanceof AnswerLater) {
    let answered = false;
    try {
      (result as AnswerLater<unknown>).start((body) => {
        if (answered) return;
        answered = true;
        reply({ body });
      });
    } catch (err) {
      if (!answered) failed(err);
    }
    return;
  }
  if (typeof (result as PromiseLike<unknown> | null)?.then === "function") (result as PromiseLike<unknown>).then((body) => reply({ body }), failed);
  else reply({ body: result });
}
