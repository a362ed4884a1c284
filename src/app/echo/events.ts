/** Events of the runtime's test application (`APP=echo`). */
export interface EchoClientToServer {
  /** Answers with the same payload (text or binary). */
  echo: (payload: unknown, ack: (payload: unknown) => void) => void;
  /** Answers where this connection is served. */
  whoami: (ack: (info: { instance: string; id: string; transport: string; address: string }) => void) => void;
  /** `broadcast` to every client (`to: "all"`), every client but the sender (`"others"`) or a room. */
  shout: (message: { to: "all" | "others" | { room: string }; payload: unknown }, ack?: () => void) => void;
  join: (room: string, ack: () => void) => void;
  leave: (room: string, ack: () => void) => void;
  /** The ids of the sockets in `room` (or all), cluster-wide. */
  list: (room: string | null, ack: (result: { ids: string[] } | { error: string }) => void) => void;
  /** `serverSideEmit` to every other process; answers their replies. */
  poll: (ack: (result: { instances: string[] } | { error: string }) => void) => void;
  /** Cluster-wide `socketsJoin` / `socketsLeave` / `disconnectSockets` on the sockets in `room`. */
  manage: (
    command: { op: "join" | "leave" | "disconnect"; room: string; target?: string },
    ack: () => void,
  ) => void;
}

export interface EchoServerToClient {
  broadcast: (payload: unknown, from: string) => void;
}

export interface EchoInterServer {
  whoIsThere: (ack: (instance: string) => void) => void;
}

export interface EchoSocketData {
  joinedAt: number;
}
