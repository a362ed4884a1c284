import { STATE, type ChatFeature } from "./context";
import { ackOf, safe } from "./safe-handler";

/**
 * Additions for pages and tests: `whoIsOnline` (usernames and client count, cluster-wide) and
 * `serverInfo` (which process serves this connection, its room and username).
 */
export const serverInfo: ChatFeature = ({ io, state, log, instance }) => {
  io.on("connection", (socket) => {
    socket.on(
      "whoIsOnline",
      safe(log, "whoIsOnline", async (maybeAck: unknown) => {
        const ack = ackOf<{ users: string[]; clients: number }>(maybeAck);
        if (!ack) return;
        const [users, clients] = await Promise.all([state.keys(STATE.shownNames), state.value(STATE.clients)]);
        ack({ ok: true, users, clients });
      }),
    );
    socket.on(
      "serverInfo",
      safe(log, "serverInfo", (maybeAck: unknown) => {
        if (typeof maybeAck !== "function") return;
        maybeAck({ instance, room: socket.data.room ?? null, username: socket.data.username ?? null });
      }),
    );
  });
};
