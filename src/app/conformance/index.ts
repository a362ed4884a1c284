import type { Application, Feature } from "../feature";

/**
 * What the official Engine.IO v4 and Socket.IO v5 protocol suites expect of the server
 * (shared/conformance/README.md): an echoing Engine.IO server at `/engine.io/`, and Socket.IO
 * namespaces `/` and `/custom`.
 */
const engineEcho: Feature = ({ engineServer, config }) => {
  const engine = engineServer("/engine.io", {
    pingInterval: config.pingInterval,
    pingTimeout: config.pingTimeout,
    maxHttpBufferSize: config.maxHttpBufferSize,
    cors: { origin: "*" },
  });
  engine.on("connection", (socket: { on(e: "message", f: (d: unknown) => void): void; send(d: unknown): void }) => {
    socket.on("message", (data) => socket.send(data));
  });
};

const socketIoSuite: Feature = ({ io }) => {
  io.on("connection", (socket) => {
    socket.emit("auth", socket.handshake.auth);
    socket.on("message", (...args: unknown[]) => socket.emit("message-back", ...args));
    socket.on("message-with-ack", (...args: unknown[]) => {
      const ack = args.pop();
      if (typeof ack === "function") ack(...args);
    });
  });
  io.of("/custom").on("connection", (socket) => {
    socket.emit("auth", socket.handshake.auth);
  });
};

export const conformanceApp: Application = {
  name: "conformance",
  serverOptions: { connectTimeout: 1000, cors: { origin: "*" } },
  features: [engineEcho, socketIoSuite],
};
