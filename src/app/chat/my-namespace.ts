import type { ChatFeature, MyNamespace } from "./context";

export const MY_NAMESPACE = "/my-namespace";

/** Seed 1, namespaces: on each connection to `/my-namespace`, `myevent` to the whole namespace. */
export const myNamespace: ChatFeature = ({ io, log }) => {
  const nsp = io.of(MY_NAMESPACE) as unknown as MyNamespace;
  nsp.on("connection", (socket) => {
    log.info({ socket: socket.id, nsp: MY_NAMESPACE }, "someone connected to /my-namespace");
    nsp.emit("myevent", "Hello everyone!");
  });
};
