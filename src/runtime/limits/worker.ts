import createDebug from "debug";
import type { Server } from "socket.io";
import type { Config } from "../../config/env";
import type { Logger } from "../../log/logger";
import { engineSocketOf, type EventPacket, type PublicSocket, type SocketInternals } from "../sockets/internals";
import { INTERNAL_ERROR, type HandlerFault, type SocketPipeline } from "../sockets/pipeline";
import { BacklogWatch } from "./backlog";
import { limitCounters } from "./counters";
import { EVENT_SIZE, sizedParser } from "./event-size";
import { LimitError, roomLimit } from "./room-limit";
import { TokenBucket } from "./token-bucket";

const debug = createDebug("runtime:limits:events");

/** The per-socket limits of one Socket.IO server (from `src/config/`). */
export interface SocketLimits {
  /** `EVENT_RATE`: events per second per socket; `0`: no rate limit. */
  eventRate: number;
  /** `EVENT_BURST`: bucket size. */
  eventBurst: number;
  /** `MAX_EVENT_SIZE`: bytes per event, JSON and binary attachments together. */
  maxEventSize: number;
  /** `MAX_ROOMS_PER_SOCKET`: rooms per socket, its own id room included. */
  maxRoomsPerSocket: number;
  /** `MAX_BACKLOG`: bytes waiting for one client before it is cut off. */
  maxBacklog: number;
  log: Logger;
}

/** Dropped events in one flood (the bucket never refilled) after which the socket is disconnected, × `EVENT_BURST`. */
export const FLOOD_FACTOR = 10;
/** At most one `error` notice per socket in this many ms (an ack is always answered). */
const NOTICE_INTERVAL_MS = 1000;

export const RATE_LIMITED = "rate limit exceeded";
export const TOO_LARGE = "event too large";

/**
 * The per-socket limits and the reporting of contained faults, on every namespace of the
 * pipeline's server (present and future, the application's included): `EVENT_RATE`/`EVENT_BURST`,
 * `MAX_EVENT_SIZE`, `MAX_ROOMS_PER_SOCKET`, `MAX_BACKLOG`, and handler faults. Call before the
 * server listens. Answers the watch of `MAX_BACKLOG` (the uWS engine tells it about native publishes).
 */
export function installSocketLimits(pipeline: SocketPipeline, io: Server, config: Config, log: Logger): BacklogWatch {
  const limits: SocketLimits = {
    eventRate: config.eventRate,
    eventBurst: config.eventBurst,
    maxEventSize: config.maxEventSize,
    maxRoomsPerSocket: config.maxRoomsPerSocket,
    maxBacklog: config.maxBacklog,
    log: log.child({ module: "limits" }),
  };
  const backlog = new BacklogWatch(io, limits);
  pipeline
    .decorateParser((parser) => sizedParser(parser, config.maxEventSize))
    .add("event", (socket, packet) => admitEvent(socket, packet, limits))
    .add("join", roomLimit(limits))
    .add("fault", (fault) => reportFault(fault, limits))
    .add("connection", (socket) => backlog.watch(engineSocketOf(socket)));
  return backlog;
}

// --- events: size and rate -------------------------------------------------------------------

interface RateState {
  bucket: TokenBucket;
  /** Events dropped since the bucket was last full. */
  strikes: number;
  lastNotice: number;
}

const RATE = Symbol("runtime:limits:rate");
type GuardedSocket = SocketInternals & { [RATE]?: RateState };

/** An event's name for logs: a string, at most 64 characters. */
export function eventNameOf(event: unknown[] | undefined): string {
  const name = event?.[0];
  return typeof name === "string" || typeof name === "number" ? String(name).slice(0, 64) : "(none)";
}

/** The `event` hook: whether the event may reach the application; a refused one is answered here. */
function admitEvent(socket: GuardedSocket, packet: EventPacket, limits: SocketLimits): boolean {
  const now = Date.now();
  const reason = refusal(socket, packet, limits, now);
  if (!reason) return true;
  refuse(socket, packet, reason, limits, now);
  return false;
}

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
  const state = socket[RATE];
  if (packet.id !== undefined && packet.id !== null) {
    socket.ack(packet.id)({ ok: false, error: reason });
  } else if (!state || now - state.lastNotice >= NOTICE_INTERVAL_MS) {
    if (state) state.lastNotice = now;
    socket.emit("error" as never, { error: reason, event } as never);
  }
  if (reason === RATE_LIMITED && state && state.strikes >= FLOOD_FACTOR * limits.eventBurst) {
    limitCounters.floodDisconnects++;
    limits.log.warn(
      { event: "event-flood", nsp: socket.nsp.name, sid: socket.id, address: socket.handshake.address, dropped: state.strikes },
      "socket disconnected: event flood",
    );
    socket.disconnect(true);
  }
}

// --- faults ------------------------------------------------------------------------------------

/**
 * The `fault` hook: an application handler, middleware or connection listener threw or rejected.
 * Logged (`"event":"handler-error"`, with the event name), counted; an event's acknowledgement, if
 * any and not answered yet, gets `{ ok: false, error }` (`"internal error"`, or a
 * {@link LimitError}'s message).
 */
function reportFault(fault: HandlerFault, limits: SocketLimits): void {
  limitCounters.handlerErrors++;
  const { err, nsp } = fault;
  if (fault.where !== "event") {
    limits.log.error({ event: "handler-error", socketEvent: fault.where, nsp: nsp.name, err }, "connection handler failed");
    return;
  }
  const socket = fault.socket as PublicSocket;
  const event = fault.event ?? [];
  const limit = err instanceof LimitError;
  const fields = { event: "handler-error", socketEvent: eventNameOf(event), nsp: nsp.name, sid: socket.id, err };
  if (limit) limits.log.warn(fields, "event handler refused by a limit");
  else limits.log.error(fields, "event handler failed");
  const ack = event[event.length - 1];
  if (typeof ack === "function") {
    try {
      // Socket.IO's acknowledgements ignore a second answer
      ack({ ok: false, error: limit ? err.message : INTERNAL_ERROR });
    } catch (ackErr) {
      debug("cannot answer the acknowledgement: %s", (ackErr as Error).message);
    }
  }
}
