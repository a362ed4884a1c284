import type { ChatFeature } from "./context";
import { ackOf, refuse, safe } from "./safe-handler";
import { MESSAGE_RULE, validMessage } from "./validation";

/** Seed 2, the chat: `chat message` from a client goes to every client. */
export const chatMessage: ChatFeature = ({ io, log }) => {
  io.on("connection", (socket) => {
    socket.on(
      "chat message",
      safe(log, "chat message", (value: unknown, maybeAck: unknown) => {
        const ack = ackOf(maybeAck);
        const text = validMessage(value);
        if (text === undefined) return refuse(socket, "chat message", MESSAGE_RULE, ack);
        io.emit("chat message", text);
        ack?.({ ok: true });
      }),
    );
  });
};
