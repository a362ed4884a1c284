/**
 * Events of the built-in application (`APP=chat`): the features taught by the seed documents.
 * Names and payloads are the seeds' own; additions are marked.
 */

/** An error answer to a refused request (addition: the seeds have no error path). */
export interface InputError {
  /** The event that was refused, e.g. `setUsername`. */
  event: string;
  /** A sentence for a person, e.g. `username must be 1 to 24 characters`. */
  reason: string;
}

/** Optional acknowledgement: `{ ok: true, … }` or `{ ok: false, error }`. */
export type Ack<T extends object = object> = (answer: ({ ok: true } & T) | { ok: false; error: string }) => void;

export interface ChatClientToServer {
  /** Seed 1 (custom client→server event): logged by the server. */
  clientEvent: (data: unknown) => void;
  /** Seed 1 (chat): claim a username, unique in the whole cluster. Answer: `userSet` or `userExists`. */
  setUsername: (name: string, ack?: Ack<{ username: string }>) => void;
  /** Seed 1 (chat): a message; broadcast as `newmsg` with the sender's server-side username. */
  msg: (data: { message: string; user?: string }, ack?: Ack) => void;
  /** Seed 2 (chat): text broadcast to every client as `chat message`. */
  "chat message": (text: string, ack?: Ack) => void;
  /** Addition: leave the room this connection was placed in. */
  leaveRoom: (ack?: Ack<{ room: number }>) => void;
  /** Addition: who is online (usernames, cluster-wide) and how many clients are connected. */
  whoIsOnline: (ack: Ack<{ users: string[]; clients: number }>) => void;
  /** Addition, for diagnostics: which process serves this connection. */
  serverInfo: (ack: (info: { instance: string; room: number | null; username: string | null }) => void) => void;
}

export interface ChatServerToClient {
  /** Seed 1 (built-in `message`): sent 4 s after connecting. */
  message: (text: string) => void;
  /** Seed 1 (custom server→client event): sent 4 s after connecting. */
  testerEvent: (data: { description: string; message: string }) => void;
  /** Seed 1 (broadcast to all): on every connect and disconnect. */
  broadcast: (data: { description: string }) => void;
  /** Seed 1 (broadcast to all but one): welcome to the new client, the count to the others. */
  newclientconnect: (data: { description: string }) => void;
  /** Seed 1 (rooms): to everyone in a room when someone joins it. */
  connectToRoom: (text: string) => void;
  /** Seed 1 (chat): the username was claimed. */
  userSet: (data: { username: string }) => void;
  /** Seed 1 (chat): the username belongs to someone else. */
  userExists: (text: string) => void;
  /** Seed 1 (chat): a chat message. */
  newmsg: (data: { message: string; user: string }) => void;
  /** Seed 2 (chat): a chat message. */
  "chat message": (text: string) => void;
  /** Addition: the online usernames changed. */
  users: (users: string[]) => void;
  /** Addition: a refused request, when it came without an acknowledgement. */
  inputError: (error: InputError) => void;
}

export interface MyNamespaceServerToClient {
  /** Seed 1 (namespaces): to the whole namespace on each connection. */
  myevent: (text: string) => void;
}

export interface ChatSocketData {
  username: string | null;
  room: number | null;
}
