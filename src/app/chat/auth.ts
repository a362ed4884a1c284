import type { Socket } from "socket.io";
import type { ChatFeature } from "./context";
import { MY_NAMESPACE } from "./my-namespace";

/** The token a client presents: `auth.token`, else the `token` query parameter. */
function tokenOf(socket: Socket): unknown {
  const auth = socket.handshake.auth as { token?: unknown } | undefined;
  return auth?.token ?? socket.handshake.query.token;
}

/**
 * Seed 2, middleware: with `AUTH_TOKENS` set, every namespace of the application requires one of
 * the tokens; a missing or unknown one is refused with `connect_error` "authentication error".
 * Without it the application is open (the tutorial pages need nothing).
 */
export const auth: ChatFeature = ({ io, config }) => {
  if (config.authTokens.length === 0) return;
  const tokens = new Set(config.authTokens);
  const check = (socket: Socket, next: (err?: Error) => void) => {
    const token = tokenOf(socket);
    if (typeof token === "string" && tokens.has(token)) next();
    else next(new Error("authentication error"));
  };
  for (const nsp of [io.of("/"), io.of(MY_NAMESPACE)]) nsp.use(check as never);
};
