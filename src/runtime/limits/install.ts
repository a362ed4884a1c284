import type { Server } from "socket.io";
import type { Config } from "../../config/env";
import type { Logger } from "../../log/logger";
import { BacklogWatch } from "./backlog";
import { guardEvents } from "./event-guard";
import { measureEventSizes } from "./event-size";
import { containConnectionFaults } from "./connection-faults";
import { containHandlerFaults } from "./handler-faults";
import { setLimits, type SocketLimits } from "./installed";
import { limitRooms } from "./room-limit";

/**
 * Applies the per-socket limits and fault containment to every namespace of `io` (present and
 * future, the application's included): `EVENT_RATE`/`EVENT_BURST`, `MAX_EVENT_SIZE`,
 * `MAX_ROOMS_PER_SOCKET`, `MAX_BACKLOG`, and handler faults. Call before the server listens.
 */
export function installSocketLimits(io: Server, config: Config, log: Logger): void {
  const limits: SocketLimits = {
    eventRate: config.eventRate,
    eventBurst: config.eventBurst,
    maxEventSize: config.maxEventSize,
    maxRoomsPerSocket: config.maxRoomsPerSocket,
    maxBacklog: config.maxBacklog,
    log: log.child({ module: "limits" }),
  };
  setLimits(io, limits);
  measureEventSizes(io, config.maxEventSize);
  guardEvents();
  containHandlerFaults();
  containConnectionFaults(io, limits);
  limitRooms();
  new BacklogWatch(io, limits);
}
