import { STATE, type ChatFeature } from "./context";
import { ackOf, safe } from "./safe-handler";

/** The room a client gets: two per room, in connection order across the cluster. */
export const roomOf = (seat: number) => Math.ceil(seat / 2);

/**
 * Seed 1, rooms: the 1st and 2nd clients (cluster-wide) go to `room-1`, the 3rd and 4th to
 * `room-2`, …; on each join, `connectToRoom` to everyone in that room. `leaveRoom` (addition)
 * takes the client out of its room.
 */
export const rooms: ChatFeature = ({ io, state, log }) => {
  io.on("connection", (socket) => {
    socket.data.room = null;
    socket.on(
      "leaveRoom",
      safe(log, "leaveRoom", async (maybeAck: unknown) => {
        const ack = ackOf<{ room: number }>(maybeAck);
        const room = socket.data.room;
        if (room === null) return ack?.({ ok: false, error: "you are in no room" });
        await socket.leave(`room-${room}`);
        socket.data.room = null;
        ack?.({ ok: true, room });
      }),
    );
    state
      .next(STATE.roomSeats)
      .then(async (seat) => {
        if (!socket.connected) return;
        const room = roomOf(seat);
        await socket.join(`room-${room}`);
        socket.data.room = room;
        io.to(`room-${room}`).emit("connectToRoom", `You are in room no. ${room}`);
      })
      .catch((err: unknown) => log.error({ err }, "rooms: cannot place a client"));
  });
};
