import type { ChatFeature } from "./context";

/** Seed 1 waits 4 seconds before it greets. */
export const GREETING_DELAY_MS = 4000;

/** Seed 1: the built-in `message` event and the custom `testerEvent`, 4 s after connecting. */
export const delayedGreetings: ChatFeature = ({ io }) => {
  io.on("connection", (socket) => {
    const timer = setTimeout(() => {
      socket.send("Sent a message 4seconds after connection!");
      socket.emit("testerEvent", { description: "A custom event named testerEvent!", message: "This is a test message" });
    }, GREETING_DELAY_MS);
    socket.on("disconnect", () => clearTimeout(timer));
  });
};
