import type { Server } from "socket.io";

/**
 * The same events as the product's `echo` application (src/app/echo), for the baseline
 * Socket.IO servers: `echo`, `shout`, `join`, `whoami`.
 */
export function echoApp(io: Server, instance: string): void {
  const isRoom = (room: unknown): room is string => typeof room === "string" && room.length > 0 && room.length <= 64;
  io.on("connection", (socket) => {
    socket.on("echo", (payload: unknown, ack: unknown) => typeof ack === "function" && ack(payload));
    socket.on("whoami", (ack: unknown) => {
      if (typeof ack === "function") ack({ instance, id: socket.id, transport: socket.conn.transport.name });
    });
    socket.on("shout", (message: { to?: unknown; payload?: unknown } | undefined) => {
      const to = message?.to;
      if (to === "all") io.emit("broadcast", message!.payload, socket.id);
      else if (to === "others") socket.broadcast.emit("broadcast", message!.payload, socket.id);
      else if (to && typeof to === "object" && isRoom((to as { room?: unknown }).room)) {
        io.to((to as { room: string }).room).emit("broadcast", message!.payload, socket.id);
      }
    });
    socket.on("join", async (room: unknown, ack: unknown) => {
      if (isRoom(room)) await socket.join(room);
      if (typeof ack === "function") ack();
    });
  });
}
