/** The events of the chat, shared by the server's features and the clients (test, page). */

/** `{ ok: true, … }` or `{ ok: false, error }`: every request is answered through its acknowledgement. */
export type Answer<T extends object = object> = ({ ok: true } & T) | { ok: false; error: string };

export interface ClientToServer {
  /** Enter `room` as `name` (names are unique per room, across every worker); answers who is there. */
  join: (request: { room: string; name: string }, ack: (answer: Answer<{ members: string[]; served: string }>) => void) => void;
  /** Say something to your room. */
  say: (text: string, ack?: (answer: Answer) => void) => void;
  /** Whisper to one member of your room, whichever worker serves them; answers once they have it. */
  whisper: (request: { to: string; text: string }, ack: (answer: Answer<{ delivered: true }>) => void) => void;
}

export interface ServerToClient {
  /** Who is in the room, after someone came or left. */
  presence: (update: { room: string; members: string[] }) => void;
  /** A message said in the room. */
  message: (message: { room: string; from: string; text: string }) => void;
  /** A whisper for you alone; acknowledge it to tell the sender it arrived. */
  whisper: (whisper: { from: string; text: string }, ack: (received: boolean) => void) => void;
}

/** What the server keeps with each socket (restored with the session after a reconnection). */
export interface SocketData {
  room?: string;
  name?: string;
}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type InterServer = {};
