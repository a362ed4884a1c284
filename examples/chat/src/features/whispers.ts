import { defineFeature } from "uws-socketio-cluster";
import type { ClientToServer, InterServer, ServerToClient, SocketData } from "../events.js";

/** How long the recipient has to acknowledge a whisper. */
const DELIVERY_TIMEOUT_MS = 5000;

/**
 * Whispers with delivery receipts, acknowledgements both ways: `whisper({ to, text })` finds the
 * member of the sender's room named `to` on whichever worker serves them (`fetchSockets` spans the
 * cluster), sends it with an acknowledgement, and answers the sender `{ ok: true, delivered: true }`
 * once the recipient acknowledged it, or `{ ok: false, error }` (no such member, no receipt in time).
 */
export const whispers = defineFeature<ClientToServer, ServerToClient, InterServer, SocketData>(({ io }) => {
  io.on("connection", (socket) => {
    socket.on("whisper", async ({ to, text } = { to: "", text: "" }, ack) => {
      if (typeof ack !== "function") return;
      const { room, name } = socket.data;
      if (!room || !name) return ack({ ok: false, error: "join a room first" });
      if (typeof to !== "string" || typeof text !== "string" || text.length === 0 || text.length > 500) {
        return ack({ ok: false, error: "whisper { to, text } with 1 to 500 characters" });
      }
      const recipient = (await io.in(room).fetchSockets()).find((member) => member.data.name === to);
      if (!recipient) return ack({ ok: false, error: `nobody called ${to} in ${room}` });
      try {
        const [received] = await io.to(recipient.id).timeout(DELIVERY_TIMEOUT_MS).emitWithAck("whisper", { from: name, text });
        ack(received === true ? { ok: true, delivered: true } : { ok: false, error: `${to} did not take it` });
      } catch {
        ack({ ok: false, error: `${to} did not answer within ${DELIVERY_TIMEOUT_MS / 1000} s` });
      }
    });
  });
});
