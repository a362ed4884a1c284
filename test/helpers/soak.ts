import { io, type Socket } from "socket.io-client";

/** A soak client: in one room, sends numbered messages with acks, records what it receives. */
export interface Chatter {
  index: number;
  room: string;
  socket: Socket;
  /** The socket id it got first; a recovered session keeps it. */
  firstId: string;
  /** Messages received: id → times. */
  received: Map<string, number>;
  /** Reconnections that recovered the session / that did not (a new session: continuity lost). */
  recoveries: number;
  freshSessions: number;
  /** When continuity was lost first (ms since epoch), if ever. */
  lostAt?: number;
  /** Times the socket was disconnected. */
  disconnections: number;
}

/** socket.io-client's rejection of an ack that was pending when its socket was disconnected. */
export const DISCONNECTED = "socket has been disconnected";

/** A message a chatter sent: acked, or not (`failure` says why: it may or may not have gone out). */
export interface Sent {
  id: string;
  room: string;
  acked: boolean;
  at: number;
  failure?: string;
}

export function connectChatter(url: string, index: number, room: string, websocketOnly: boolean): Promise<Chatter> {
  const socket = io(url, {
    forceNew: true,
    transports: websocketOnly ? ["websocket"] : ["polling", "websocket"],
    reconnectionDelay: 200,
    reconnectionDelayMax: 2000,
    timeout: 20_000,
  });
  const chatter: Chatter = { index, room, socket, firstId: "", received: new Map(), recoveries: 0, freshSessions: 0, disconnections: 0 };
  socket.on("disconnect", () => chatter.disconnections++);
  socket.on("broadcast", (payload: { m?: string }) => {
    if (typeof payload?.m === "string") chatter.received.set(payload.m, (chatter.received.get(payload.m) ?? 0) + 1);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chatter ${index} did not connect`)), 30_000);
    socket.on("connect", () => {
      if (!chatter.firstId) {
        chatter.firstId = socket.id!;
        clearTimeout(timer);
        resolve(chatter);
        return;
      }
      if (socket.recovered) chatter.recoveries++;
      else {
        chatter.freshSessions++;
        chatter.lostAt ??= Date.now();
      }
    });
  });
}

export const MB = 1024 * 1024;
