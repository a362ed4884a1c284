import createDebug from "debug";
import type { ServerOptions } from "engine.io";
import type { EngineSocket } from "../sockets/internals";
import { routingCounters } from "./routing-counters";

const debug = createDebug("runtime:ping-deadlines");

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
 * (engine.io waits once more then).
 */
export function watchPingDeadline(socket: EngineSocket, opts: Pick<ServerOptions, "pingInterval" | "pingTimeout">): void {
  if (socket.protocol === 3 || socket.transport.name !== "polling") return;
  // engine.io fills both in (its defaults: 25 s and 20 s)
  const { pingInterval = 25_000, pingTimeout = 20_000 } = opts;
  const now = () => performance.now();
  let pingDue = now() + pingInterval;
  let deadline = pingDue + pingTimeout;
  let extended = false;
  socket.on("heartbeat", () => {
    pingDue = now() + pingInterval;
    deadline = pingDue + pingTimeout;
    extended = false;
  });
  socket.on("packet", (packet: { type: string }) => {
    if (packet.type === "pong" || extended || now() < pingDue) return;
    extended = true;
    deadline = Math.max(deadline, now() + pingTimeout);
  });
  // a poll reaches the polling transport ("ready"); after an upgrade no poll comes any more
  socket.transport.on("ready", () => {
    if (socket.readyState === "open" && now() >= deadline) {
      routingCounters.pollsPastPingDeadline++;
      debug("a poll of %s came %d ms past its heartbeat deadline: the ping timeout is late", socket.id, Math.round(now() - deadline));
    }
  });
}
