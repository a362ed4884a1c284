import { countText, STATE, type ChatFeature } from "./context";

/**
 * Seed 1, broadcasting: on every connect and disconnect, `broadcast` with the cluster-wide count
 * to everyone, and `newclientconnect`: a welcome to the newcomer, the count to everyone else.
 * The count lives in the shared state; when a worker dies its clients are withdrawn from it, and
 * every worker tells its own clients the new count.
 */
export const presence: ChatFeature = ({ io, state, log }) => {
  const announce = (n: number, except?: string) => {
    io.emit("broadcast", { description: countText(n) });
    (except ? io.except(except) : io).emit("newclientconnect", { description: countText(n) });
  };

  io.on("connection", (socket) => {
    const joined = state.add(STATE.clients, 1);
    socket.on("disconnect", () => {
      joined
        .then(() => state.add(STATE.clients, -1))
        .then((n) => announce(n, socket.id))
        .catch((err: unknown) => log.error({ err }, "presence: cannot count a disconnection"));
    });
    joined
      .then((n) => {
        if (!socket.connected) return;
        socket.emit("newclientconnect", { description: "Hey, welcome!" });
        socket.broadcast.emit("newclientconnect", { description: countText(n) });
        io.emit("broadcast", { description: countText(n) });
      })
      .catch((err: unknown) => log.error({ err }, "presence: cannot count a connection"));
  });

  state.onReleased((change) => {
    if (!change.counters.includes(STATE.clients)) return;
    state
      .value(STATE.clients)
      .then((n) => io.local.emit("broadcast", { description: countText(n) }))
      .catch((err: unknown) => log.error({ err }, "presence: cannot read the count"));
  });
};
