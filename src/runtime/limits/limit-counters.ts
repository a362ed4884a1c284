/** What the per-socket limits refused or contained on this worker (metrics and `/stats`). */
export interface LimitCounters {
  /** Events dropped because their socket was over `EVENT_RATE` / `EVENT_BURST`. */
  eventsRateLimited: number;
  /** Events refused because they were over `MAX_EVENT_SIZE`. */
  eventsTooLarge: number;
  /** Sockets disconnected for flooding (10 × `EVENT_BURST` events dropped in one flood). */
  floodDisconnects: number;
  /** `socket.join` calls refused because of `MAX_ROOMS_PER_SOCKET`. */
  roomJoinsRefused: number;
  /** Exceptions and rejected promises of application event handlers, contained. */
  handlerErrors: number;
  /** Clients disconnected because more than `MAX_BACKLOG` bytes waited for them. */
  slowConsumerDisconnects: number;
}

/** The mutable counters of this process. */
export const limitCounters: LimitCounters = {
  eventsRateLimited: 0,
  eventsTooLarge: 0,
  floodDisconnects: 0,
  roomJoinsRefused: 0,
  handlerErrors: 0,
  slowConsumerDisconnects: 0,
};
