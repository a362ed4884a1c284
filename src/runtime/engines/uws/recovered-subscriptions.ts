import type { Namespace, Server, Socket } from "socket.io";

/** Socket.IO's topic for a room of a namespace in uWS `publish` (socket.io/dist/uws.js). */
const topicOf = (nsp: string, room: string) => `${nsp}\x1f${room}`;

interface UwsWebSocket {
  subscribe(topic: string): boolean;
}

/**
 * Socket.IO's uWS integration subscribes a socket's WebSocket to its namespace and room topics
 * when it joins them; a socket restored by connection state recovery joins its rooms before it is
 * registered, so that subscription never happens and native broadcasts (`app.publish`) would skip
 * it. This subscribes restored sockets once they are connected (or once they upgrade).
 */
export function subscribeRecoveredSockets(io: Server): void {
  const watch = (nsp: Namespace) =>
    nsp.on("connection", (socket: Socket) => {
      if (!socket.recovered) return;
      const subscribe = () => {
        const ws = (socket.conn.transport as unknown as { socket?: UwsWebSocket }).socket;
        if (!ws || socket.conn.transport.name !== "websocket") return;
        ws.subscribe(nsp.name);
        for (const room of socket.rooms) ws.subscribe(topicOf(nsp.name, room));
      };
      if (socket.conn.transport.name === "websocket") subscribe();
      else socket.conn.once("upgrade", subscribe);
    });
  watch(io.of("/"));
  io.on("new_namespace", watch);
}
