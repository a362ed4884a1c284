import createDebug from "debug";
import type { Server } from "socket.io";
import type { Application, FeatureContext } from "../feature";
import type { EchoClientToServer, EchoInterServer, EchoServerToClient, EchoSocketData } from "./events";

const debug = createDebug("app:echo");

type EchoServer = Server<EchoClientToServer, EchoServerToClient, EchoInterServer, EchoSocketData>;

const errorOf = (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) });
const isRoom = (room: unknown): room is string => typeof room === "string" && room.length > 0 && room.length <= 64;

/**
 * The runtime's own test application: echo with ack, broadcasts to all / others / rooms,
 * `fetchSockets`, `serverSideEmit`, and the cluster-wide socket management calls.
 */
function echo({ io: untyped, instance }: FeatureContext): void {
  const io = untyped as unknown as EchoServer;
  io.on("whoIsThere", (ack) => ack(instance));
  io.on("connection", (socket) => {
    socket.data.joinedAt = Date.now();
    debug("connection %s", socket.id);
    socket.on("echo", (payload, ack) => typeof ack === "function" && ack(payload));
    socket.on("whoami", (ack) => {
      if (typeof ack === "function") ack({ instance, id: socket.id, transport: socket.conn.transport.name, address: socket.handshake.address });
    });
    socket.on("shout", (message, ack) => {
      const to = message?.to;
      if (to === "all") io.emit("broadcast", message.payload, socket.id);
      else if (to === "others") socket.broadcast.emit("broadcast", message.payload, socket.id);
      else if (to && typeof to === "object" && isRoom(to.room)) io.to(to.room).emit("broadcast", message.payload, socket.id);
      if (typeof ack === "function") ack();
    });
    socket.on("join", async (room, ack) => {
      if (isRoom(room)) await socket.join(room);
      if (typeof ack === "function") ack();
    });
    socket.on("leave", async (room, ack) => {
      if (isRoom(room)) await socket.leave(room);
      if (typeof ack === "function") ack();
    });
    socket.on("list", async (room, ack) => {
      if (typeof ack !== "function") return;
      try {
        const sockets = isRoom(room) ? await io.in(room).fetchSockets() : await io.fetchSockets();
        ack({ ids: sockets.map((s) => s.id) });
      } catch (err) {
        ack(errorOf(err));
      }
    });
    socket.on("poll", (ack) => {
      if (typeof ack !== "function") return;
      io.serverSideEmitWithAck("whoIsThere").then(
        (instances) => ack({ instances }),
        (err: unknown) => ack(errorOf(err)),
      );
    });
    socket.on("manage", (command, ack) => {
      if (!command || !isRoom(command.room)) return typeof ack === "function" && ack();
      const scope = io.in(command.room);
      if (command.op === "join" && isRoom(command.target)) scope.socketsJoin(command.target);
      else if (command.op === "leave" && isRoom(command.target)) scope.socketsLeave(command.target);
      else if (command.op === "disconnect") scope.disconnectSockets(true);
      if (typeof ack === "function") ack();
    });
  });
}

export const echoApp: Application = { name: "echo", features: [echo] };
