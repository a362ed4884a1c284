import type { HttpRequest, us_socket_context_t, WebSocket } from "uWebSockets.js";
import type { GuardedResponse } from "./response-guard";

const STASH = Symbol("upgradeStash");
/** uWS copies user data by string keys only. */
const REFUSED = "__stickyRefusedUpgrade";

export interface Stash {
  res: GuardedResponse;
  key: string;
  protocol: string;
  extensions: string;
  context: us_socket_context_t;
}

/** What {@link stashUpgrade} kept of an upgrade request, if anything (and the client is still there). */
export function stashOf(req: object): Stash | undefined {
  const stash = (req as { [STASH]?: Stash })[STASH];
  return stash && !stash.res.aborted ? stash : undefined;
}

/** Keeps what an upgrade needs past the synchronous handler (uWS requests die when it returns). */
export function stashUpgrade(req: HttpRequest, res: GuardedResponse, context: us_socket_context_t): void {
  (req as unknown as { [STASH]: Stash })[STASH] = {
    res,
    key: req.getHeader("sec-websocket-key"),
    protocol: req.getHeader("sec-websocket-protocol"),
    extensions: req.getHeader("sec-websocket-extensions"),
    context,
  };
}

/**
 * Drops the stash of a request that became a session (engine.io keeps a session's first request
 * for as long as it lives): set to `undefined`, not deleted, so the request keeps its shape.
 */
export function dropUpgradeStash(req: object): void {
  const stashed = req as { [STASH]?: Stash };
  if (stashed[STASH]) stashed[STASH] = undefined;
}

/**
 * Refuses a WebSocket for a session that cannot take it (already upgraded, upgrading, or owned
 * and not movable) the way Node's engine.io server does: accept the upgrade, then close it at
 * once. Dropping the connection before answering (what engine.io's uWS server does) makes
 * WebSocket clients report an error instead of a close.
 */
export const closeUpgrade = {
  refuse(req: object): boolean {
    const stash = (req as { [STASH]?: Stash })[STASH];
    if (!stash || stash.res.aborted) return false;
    stash.res.cork(() => {
      stash.res.upgrade({ [REFUSED]: true }, stash.key, stash.protocol, stash.extensions, stash.context);
    });
    return true;
  },
  isRefused(ws: WebSocket<unknown>): boolean {
    return (ws.getUserData() as { [REFUSED]?: true })[REFUSED] === true;
  },
  close(ws: WebSocket<unknown>): void {
    ws.end(1000, "session not available");
  },
};
