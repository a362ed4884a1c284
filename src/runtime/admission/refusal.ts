import type { LimitReason } from "./address-limits";

/** Why a request was refused at the door. */
export type RefusalReason = "origin" | LimitReason;

/** A refused request: the HTTP answer it gets instead of a session or an upgrade. */
export interface Refusal {
  reason: RefusalReason;
  /** `403` (origin) or `429` (per-address limits). */
  status: 403 | 429;
  /** The HTTP status line's reason phrase. */
  statusText: string;
  /** The short text body. */
  message: string;
  /** `Retry-After`, in seconds (429 only). */
  retryAfterS?: number;
}

export const ORIGIN_REFUSAL: Refusal = { reason: "origin", status: 403, statusText: "Forbidden", message: "origin not allowed" };

const LIMIT_MESSAGES: Record<LimitReason, string> = {
  connections_per_ip: "too many connections from this address",
  connection_rate: "connection rate exceeded",
};

export function limitRefusal(reason: LimitReason, retryAfterS: number): Refusal {
  return { reason, status: 429, statusText: "Too Many Requests", message: LIMIT_MESSAGES[reason], retryAfterS };
}

/** Refusals counted by reason since the process started (read by the metrics at scrape time). */
export const refusalCounts: Record<RefusalReason, number> = { origin: 0, connections_per_ip: 0, connection_rate: 0 };

/** The response headers of a refusal. */
export function refusalHeaders(refusal: Refusal): Record<string, string> {
  const headers: Record<string, string> = { "content-type": "text/plain; charset=utf-8" };
  if (refusal.retryAfterS !== undefined) headers["retry-after"] = String(refusal.retryAfterS);
  return headers;
}

/** The response body of a refusal. */
export function refusalBody(refusal: Refusal): string {
  return `${refusal.message}\n`;
}
