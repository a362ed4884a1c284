import createDebug from "debug";
import type { Socket } from "socket.io";
import { limitCounters } from "./counters";
import type { SocketLimits } from "./worker";

const debug = createDebug("runtime:limits:rooms");

/** How many rooms a socket in `current` would be in after joining `rooms`. */
export function roomsAfterJoin(current: ReadonlySet<string>, rooms: readonly string[]): number {
  let added = 0;
  for (const room of new Set(rooms)) if (!current.has(room)) added++;
  return current.size + added;
}

/**
 * `MAX_ROOMS_PER_SOCKET`, as a `join` hook. A `socket.join` that would put the socket in more rooms
 * throws a {@link RoomLimitError} (`"room limit exceeded"`) and joins none of them: the application
 * can catch it and answer its client; if it escapes an event handler, the client's acknowledgement
 * gets `{ ok: false, error: "room limit exceeded" }`. A server-side `socketsJoin` never throws (it
 * may come from another worker): the sockets already at the limit are skipped, with a warning.
 */
export function roomLimit(limits: SocketLimits) {
  return (socket: Socket, rooms: readonly string[], serverSide: boolean): boolean => {
    const after = roomsAfterJoin(socket.rooms, rooms);
    if (after <= limits.maxRoomsPerSocket) return true;
    limitCounters.roomJoinsRefused++;
    debug("socket %s: join of %d room(s) refused (%d > %d)", socket.id, rooms.length, after, limits.maxRoomsPerSocket);
    if (!serverSide) throw new RoomLimitError(limits.maxRoomsPerSocket);
    limits.log.warn(
      { event: "room-limit", nsp: socket.nsp.name, sid: socket.id, limit: limits.maxRoomsPerSocket },
      "socketsJoin skipped a socket at its room limit",
    );
    return false;
  };
}

/**
 * An error the runtime throws to the application when a per-socket limit refuses something
 * (e.g. `socket.join` beyond `MAX_ROOMS_PER_SOCKET`). Its message is meant for the client: when
 * the application lets it escape an event handler, the acknowledgement gets
 * `{ ok: false, error: message }` instead of `"internal error"`.
 */
export class LimitError extends Error {
  constructor(
    message: string,
    /** A stable code, e.g. `ROOM_LIMIT`. */
    readonly code: string,
  ) {
    super(message);
    this.name = "LimitError";
  }
}

/** `socket.join` would put the socket in more than `MAX_ROOMS_PER_SOCKET` rooms. */
export class RoomLimitError extends LimitError {
  constructor(readonly limit: number) {
    super("room limit exceeded", "ROOM_LIMIT");
    this.name = "RoomLimitError";
  }
}
