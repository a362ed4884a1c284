import type { Application, Feature } from "../feature";

/**
 * What the official Engine.IO v4 and Socket.IO v5 protocol suites expect of the server
 * (shared/conformance/README.md): an echoing Engine.IO server at `/engine.io/`, and Socket.IO
 * namespaces `/` and `/custom`.
 */
/** The options both suites expect. */
const SUITE_OPTIONS = { pingInterval: 300, pingTimeout: 200, maxHttpBufferSize: 1e6, cors: { origin: "*" } };

const engineEcho: Feature = ({ engineServer }) => {
  const engine = engineServer("/engine.io", SUITE_OPTIONS);
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
  // the suites expect the plain handshake (no recovery id)
  serverOptions: { ...SUITE_OPTIONS, connectTimeout: 1000, connectionStateRecovery: undefined },
  features: [engineEcho, socketIoSuite],
};
