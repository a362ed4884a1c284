/**
 * IPC messages of the recovering cluster adapter (worker ↔ primary). Types start with `rt:rec-`.
 */

/** Broadcast options as they cross processes (Sets become arrays). */
export interface WireOptions {
  rooms: string[];
  except: string[];
  flags?: Record<string, unknown>;
}

/** A session as the primary keeps it. */
export interface WireSession {
  sid: string;
  pid: string;
  rooms: string[];
  data: unknown;
}

export type RecoveryRequest =
  /** A recoverable broadcast: the primary stamps it with an offset, logs it and delivers it everywhere. */
  | { type: "rt:rec-broadcast"; nsp: string; packet: { type: number; data: unknown[]; nsp: string }; opts: WireOptions }
  /** A socket with a recovery id connected, or its rooms changed. */
  | { type: "rt:rec-session"; nsp: string; session: Omit<WireSession, "data"> }
  /** A socket disconnected for a reason it may recover from. */
  | { type: "rt:rec-persist"; nsp: string; session: WireSession }
  /** A socket left for good (its session must not be restored). */
  | { type: "rt:rec-forget"; nsp: string; sid: string }
  /** Restore the session `pid` and the packets after `offset`. */
  | { type: "rt:rec-restore"; id: number; nsp: string; pid: string; offset: string };

export type RecoveryReply =
  /** A logged broadcast, to deliver locally (sent to every worker, the sender included). */
  | { type: "rt:rec-deliver"; nsp: string; packet: { type: number; data: unknown[]; nsp: string }; opts: WireOptions }
  | { type: "rt:rec-restored"; id: number; session: (WireSession & { missedPackets: unknown[][] }) | null };

export function isRecoveryMessage(message: unknown): message is RecoveryRequest | RecoveryReply {
  const type = (message as { type?: unknown } | null)?.type;
  return typeof type === "string" && type.startsWith("rt:rec-");
}
