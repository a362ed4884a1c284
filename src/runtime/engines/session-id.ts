import { randomBytes } from "node:crypto";

/**
 * Session ids that name the worker which created them: `<worker id in base 36>.<random>`.
 * Any worker can tell a session's owner from its id alone, without asking anyone.
 */
export function createSessionId(ownerId: number): string {
  return `${ownerId.toString(36)}.${randomBytes(15).toString("base64url")}`;
}

/** The owner worker id encoded in `sid`, or `undefined` when `sid` is not one of ours. */
export function ownerOf(sid: string): number | undefined {
  const dot = sid.indexOf(".");
  if (dot < 1) return undefined;
  const prefix = sid.slice(0, dot);
  if (!/^[0-9a-z]{1,8}$/.test(prefix)) return undefined;
  const id = parseInt(prefix, 36);
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}
