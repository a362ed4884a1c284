import createDebug from "debug";
import type { ServerOptions } from "engine.io";
import type { EventEmitter } from "node:events";
import type { EngineSocket } from "../sockets/internals";
import { routingCounters } from "./routing-counters";

const debug = createDebug("runtime:ping-deadlines");
const now = () => performance.now();

/** When each handshake request was answered (engine.io's `initial_headers`), by request. */
const handshakeTimes = new WeakMap<object, number>();

/** Takes the time of `engine`'s handshakes, for {@link watchPingDeadline}. */
export function clockHandshakes(engine: Pick<EventEmitter, "on">): void {
  engine.on("initial_headers", (_headers: unknown, req: object) => handshakeTimes.set(req, now()));
}

/**
 * Counts the polls that `socket`, a new session, serves after its heartbeat deadline had passed
 * (`routingCounters.pollsPastPingDeadline`, `/stats` and `/metrics`).
 *
 * Engine.IO v4: the server sends a ping `pingInterval` ms after the handshake (and after each pong)
 * and closes the session when no pong came `pingTimeout` ms later. Both are timers of the worker's
 * event loop: on a machine that keeps the worker off the CPU they fire late, and a poll read before
 * the late timer is served by a session that, by the protocol's clock, is already closed. No client
 * of a living session polls that late (its pong would come first); a protocol test does, by waiting
 * exactly `pingInterval + pingTimeout` and expecting the session to be gone. The count tells such a
 * test's failure (a late timer on a busy machine) from a heartbeat that does not close sessions.
 *
 * The deadline is the protocol's: the ping due `pingInterval` after the handshake or the last pong,
 * plus `pingTimeout`, moved to `pingTimeout` after a client packet received while the pong is awaited
 * (engine.io waits once more then). The handshake's time is taken when engine.io writes its response
 * headers ({@link clockHandshakes}): after engine.io armed its timers, before the client can read
 * the answer and start waiting. (The `connection` event comes after the response is written, and a
 * busy machine may run it late.)
 */
export function watchPingDeadline(socket: EngineSocket, opts: Pick<ServerOptions, "pingInterval" | "pingTimeout">): void {
  if (socket.protocol === 3 || socket.transport.name !== "polling") return;
  // engine.io fills both in (its defaults: 25 s and 20 s)
  const { pingInterval = 25_000, pingTimeout = 20_000 } = opts;
  let pingDue = (handshakeTimes.get(socket.request) ?? now()) + pingInterval;
  let deadline = pingDue + pingTimeout;
  let extended = false;
  const onHeartbeat = () => {
    pingDue = now() + pingInterval;
    deadline = pingDue + pingTimeout;
    extended = false;
  };
  const onPacket = (packet: { type: string }) => {
    if (packet.type === "pong" || extended || now() < pingDue) return;
    extended = true;
    deadline = Math.max(deadline, now() + pingTimeout);
  };
  socket.on("heartbeat", onHeartbeat);
  socket.on("packet", onPacket);
  // upgraded (most sessions): no poll comes any more, and nothing is left on the WebSocket's path
  socket.once("upgrade", () => {
    socket.off("heartbeat", onHeartbeat);
    socket.off("packet", onPacket);
  });
  // a poll reaches the polling transport ("ready"); after an upgrade no poll comes any more
  socket.transport.on("ready", () => {
    if (socket.readyState === "open" && now() >= deadline) {
      routingCounters.pollsPastPingDeadline++;
      debug("a poll of %s came %d ms past its heartbeat deadline: the ping timeout is late", socket.id, Math.round(now() - deadline));
    }
  });
}
