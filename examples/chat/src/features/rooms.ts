import { defineFeature } from "uws-socketio-cluster";
import type { ClientToServer, InterServer, ServerToClient, SocketData } from "../events.js";

/** Room and member names: 1 to 32 letters, digits, spaces, `_`, `-` or `.`. */
const NAME = /^[\p{L}\p{N} _.-]{1,32}$/u;
const members = (room: string) => `chat:members:${room}`;

/**
 * A room chat with presence: `join` a room under a name unique in that room (claimed in the
 * cluster-wide state, so two workers cannot hand out the same name), `say` to the room, and
 * `presence` to the room whenever someone comes or goes, whichever worker serves them.
 */
export const rooms = defineFeature<ClientToServer, ServerToClient, InterServer, SocketData>(({ io, state, log, instance }) => {
  const announce = async (room: string) => io.to(room).emit("presence", { room, members: await state.keys(members(room)) });

  // a worker that died or was replaced held claims: they are released, tell the rooms
  state.onReleased(({ spaces }) => {
    for (const space of spaces) if (space.startsWith("chat:members:")) void announce(space.slice("chat:members:".length));
  });

  io.on("connection", (socket) => {
    // the handlers are set before anything is awaited: a restored client sends what it buffered
    // (a `say` while it reconnected) right after its CONNECT, and an event that comes before its
    // handler is dropped, its acknowledgement with it
    socket.on("join", async ({ room, name } = { room: "", name: "" }, ack) => {
      if (typeof ack !== "function") return;
      if (typeof room !== "string" || typeof name !== "string" || !NAME.test(room) || !NAME.test(name)) {
        return ack({ ok: false, error: "room and name: 1 to 32 letters, digits, spaces, _ - ." });
      }
      if (socket.data.room) return ack({ ok: false, error: `already in ${socket.data.room}` });
      if (!(await state.claim(members(room), name, socket.id))) return ack({ ok: false, error: `${name} is taken in ${room}` });
      socket.data = { room, name };
      await socket.join(room);
      log.info({ room, name }, "joined");
      ack({ ok: true, members: await state.keys(members(room)), served: instance });
      await announce(room);
    });

    socket.on("say", (text, ack) => {
      const { room, name } = socket.data;
      if (!room || !name) return ack?.({ ok: false, error: "join a room first" });
      if (typeof text !== "string" || text.length === 0 || text.length > 500) return ack?.({ ok: false, error: "1 to 500 characters" });
      io.to(room).emit("message", { room, from: name, text });
      ack?.({ ok: true });
    });

    socket.on("disconnect", async () => {
      const { room, name } = socket.data;
      if (room && name && (await state.release(members(room), name, socket.id))) await announce(room);
    });

    // a client that came back (a worker rolled by `dev`, or killed) keeps its room and name
    const { room, name } = socket.data;
    if (socket.recovered && room && name) {
      state
        .claim(members(room), name, socket.id)
        .then((claimed) => claimed && announce(room))
        .catch((err: Error) => log.warn({ room, name, err: err.message }, "could not reclaim the name of a restored client"));
    }
  });
});
