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
