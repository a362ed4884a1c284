import type { Namespace, Server, Socket } from "socket.io";
import type { FeatureContext } from "../feature";
import type { ChatClientToServer, ChatServerToClient, ChatSocketData, MyNamespaceServerToClient } from "./events";

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
type NoEvents = {};

export type ChatServer = Server<ChatClientToServer, ChatServerToClient, NoEvents, ChatSocketData>;
export type ChatSocket = Socket<ChatClientToServer, ChatServerToClient, NoEvents, ChatSocketData>;
export type MyNamespace = Namespace<NoEvents, MyNamespaceServerToClient>;

/** The feature context with the chat's event types. */
export type ChatContext = Omit<FeatureContext, "io"> & { io: ChatServer };

/** A feature of the chat application. */
export type ChatFeature = (context: ChatContext) => void;

/** Shared-state names used by the chat features. */
export const STATE = {
  /** Counter: clients connected to `/`, cluster-wide. */
  clients: "chat:clients",
  /** Sequence: connection order, for rooms. */
  roomSeats: "chat:room-seats",
  /** Claims: usernames, compared case-insensitively. */
  usernames: "chat:usernames",
  /** Claims: usernames as their owners wrote them (for the online list). */
  shownNames: "chat:usernames-shown",
} as const;

export const countText = (n: number) => `${n} clients connected!`;
