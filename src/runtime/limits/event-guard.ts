import createDebug from "debug";
import { Socket } from "socket.io";
import { EVENT_SIZE } from "./event-size";
import { reportFault } from "./handler-faults";
import { eventNameOf, limitsOf, type SocketInternals, type SocketLimits } from "./installed";
import { limitCounters } from "./limit-counters";
import { TokenBucket } from "./token-bucket";

const debug = createDebug("runtime:limits:events");

/** Dropped events in one flood (the bucket never refilled) after which the socket is disconnected, × `EVENT_BURST`. */
export const FLOOD_FACTOR = 10;
/** At most one `error` notice per socket in this many ms (an ack is always answered). */
const NOTICE_INTERVAL_MS = 1000;

export const RATE_LIMITED = "rate limit exceeded";
export const TOO_LARGE = "event too large";

interface RateState {
  bucket: TokenBucket;
  /** Events dropped since the bucket was last full. */
  strikes: number;
  lastNotice: number;
}

type EventPacket = Parameters<SocketInternals["onevent"]>[0];
const RATE = Symbol("runtime:limits:rate");
type GuardedSocket = SocketInternals & { [RATE]?: RateState };

/** Why `packet` must not reach the application, or undefined. */
function refusal(socket: GuardedSocket, packet: EventPacket, limits: SocketLimits, now: number): string | undefined {
  const size = packet[EVENT_SIZE];
  if (typeof size === "number" && size > limits.maxEventSize) {
    limitCounters.eventsTooLarge++;
    return TOO_LARGE;
  }
  if (limits.eventRate === 0) return undefined;
  // created on the first event: idle sockets cost nothing
  let state = socket[RATE];
  if (!state) state = socket[RATE] = { bucket: new TokenBucket(limits.eventRate, limits.eventBurst, now), strikes: 0, lastNotice: 0 };
  else if (state.strikes > 0 && state.bucket.isFull(now)) state.strikes = 0;
  if (state.bucket.take(now)) return undefined;
  limitCounters.eventsRateLimited++;
  state.strikes++;
  return RATE_LIMITED;
}

/**
 * Refuses an event: its acknowledgement gets `{ ok: false, error }`; without one, the client gets
 * an `error` event `{ error, event }` (at most one a second). A socket that keeps flooding is
 * disconnected (`io server disconnect` on the client).
 */
function refuse(socket: GuardedSocket, packet: EventPacket, reason: string, limits: SocketLimits, now: number): void {
  const event = eventNameOf(packet.data);
  debug("socket %s: %s refused (%s)", socket.id, event, reason);
  if (packet.id !== undefined && packet.id !== null) {
    socket.ack(packet.id)({ ok: false, error: reason });
  } else {
    const state = socket[RATE];
    if (!state || now - state.lastNotice >= NOTICE_INTERVAL_MS) {
      if (state) state.lastNotice = now;
      socket.emit("error" as never, { error: reason, event } as never);
    }
  }
  const state = socket[RATE];
  if (reason === RATE_LIMITED && state && state.strikes >= FLOOD_FACTOR * limits.eventBurst) {
    limitCounters.floodDisconnects++;
    limits.log.warn(
      { event: "event-flood", nsp: socket.nsp.name, sid: socket.id, address: socket.handshake.address, dropped: state.strikes },
      "socket disconnected: event flood",
    );
    socket.disconnect(true);
  }
}

let installed = false;

/**
 * Checks every incoming event against the size and rate limits before anything of the
 * application sees it (`onAny` listeners and `socket.use` middlewares included), and contains
 * what the `onAny` listeners and middlewares throw.
 */
export function guardEvents(): void {
  if (installed) return;
  installed = true;
  const proto = Socket.prototype as unknown as SocketInternals;
  const onevent = proto.onevent;
  proto.onevent = function (this: GuardedSocket, packet: EventPacket) {
    const limits = limitsOf(this);
    if (!limits) return onevent.call(this, packet);
    const now = Date.now();
    const reason = refusal(this, packet, limits, now);
    if (reason) return refuse(this, packet, reason, limits, now);
    try {
      onevent.call(this, packet);
    } catch (err) {
      reportFault(this, packet.data ?? [], err, limits);
    }
  };
}
