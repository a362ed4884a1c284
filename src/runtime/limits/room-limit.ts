import createDebug from "debug";
import { Socket } from "socket.io";
import { Adapter } from "socket.io-adapter";
import { limitsOf } from "./installed";
import { RoomLimitError } from "./limit-error";
import { limitCounters } from "./limit-counters";

const debug = createDebug("runtime:limits:rooms");

/** Non-zero while the adapter makes sockets join rooms for the server (`socketsJoin`, local or from another worker). */
let serverSideJoins = 0;

/** How many rooms a socket in `current` would be in after joining `rooms`. */
export function roomsAfterJoin(current: ReadonlySet<string>, rooms: readonly string[]): number {
  let added = 0;
  for (const room of new Set(rooms)) if (!current.has(room)) added++;
  return current.size + added;
}

let installed = false;

/**
 * `MAX_ROOMS_PER_SOCKET`. A `socket.join` that would put the socket in more rooms throws a
 * {@link RoomLimitError} (`"room limit exceeded"`) and joins none of them: the application can
 * catch it and answer its client; if it escapes an event handler, the client's acknowledgement
 * gets `{ ok: false, error: "room limit exceeded" }`. A server-side `socketsJoin` never throws (it
 * may come from another worker): the sockets already at the limit are skipped, with a warning.
 */
export function limitRooms(): void {
  if (installed) return;
  installed = true;
  const proto = Socket.prototype;
  const join = proto.join;
  proto.join = function (this: Socket, rooms: string | string[]) {
    const limits = limitsOf(this);
    if (limits) {
      const list = Array.isArray(rooms) ? rooms : [rooms];
      const after = roomsAfterJoin(this.rooms, list);
      if (after > limits.maxRoomsPerSocket) {
        limitCounters.roomJoinsRefused++;
        debug("socket %s: join of %d room(s) refused (%d > %d)", this.id, list.length, after, limits.maxRoomsPerSocket);
        if (serverSideJoins === 0) throw new RoomLimitError(limits.maxRoomsPerSocket);
        limits.log.warn(
          { event: "room-limit", nsp: this.nsp.name, sid: this.id, limit: limits.maxRoomsPerSocket },
          "socketsJoin skipped a socket at its room limit",
        );
        return;
      }
    }
    return join.call(this, rooms);
  };
  const addSockets = Adapter.prototype.addSockets;
  Adapter.prototype.addSockets = function (this: Adapter, ...args: Parameters<Adapter["addSockets"]>) {
    serverSideJoins++;
    try {
      return addSockets.apply(this, args);
    } finally {
      serverSideJoins--;
    }
  };
}
