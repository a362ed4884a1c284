import type { ChatFeature } from "./context";
import { safe } from "./safe-handler";

const MAX_LOGGED = 200;

/** Seed 1: "A user connected" / "A user disconnected", and the `clientEvent` the client sends. */
export const connectionLog: ChatFeature = ({ io, log }) => {
  io.on("connection", (socket) => {
    log.info({ socket: socket.id }, "A user connected");
    socket.on("disconnect", (reason) => log.info({ socket: socket.id, reason }, "A user disconnected"));
    socket.on(
      "clientEvent",
      safe(log, "clientEvent", (data: unknown) => {
        const text = typeof data === "string" ? data : JSON.stringify(data) ?? String(data);
        log.info({ socket: socket.id, clientEvent: text.slice(0, MAX_LOGGED) }, "clientEvent");
      }),
    );
  });
};
