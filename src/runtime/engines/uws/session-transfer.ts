import createDebug from "debug";
import { Socket } from "engine.io";
import type { ConnectionGate } from "./connection-gate";
import type { EnginePayload, EngineRequestLike, EngineServerInternals, EngineSocket } from "../../sockets/internals";

const debug = createDebug("runtime:uws:transfer");

/** A session in transit between two workers (JSON over the private channel). */
export interface SessionSnapshot {
  sid: string;
  protocol: number;
  request: EngineRequestLike;
  /** Messages received before the application saw the session; binary ones as `{ b64 }`. */
  buffered: Array<string | { b64: string }>;
}

/**
 * On the owner: detaches a session that is still held back by the gate, on polling and not
 * upgrading, and returns what the new owner needs to continue it. Its pending poll (if any) is
 * answered with a noop and the session is dropped without a close reaching the client.
 * Returns `undefined` (nothing changed) when the session cannot move.
 */
export function detachSession(engine: EngineServerInternals, gate: ConnectionGate, sid: string): SessionSnapshot | undefined {
  const socket = Object.hasOwn(engine.clients, sid) ? engine.clients[sid] : undefined;
  if (!socket) {
    debug("refuse to move %s: no such session here", sid);
    return undefined;
  }
  const transport = socket.transport;
  const movable =
    socket.readyState === "open" &&
    gate.isHeld(socket) &&
    transport.name === "polling" &&
    !socket.upgrading &&
    !transport.dataReq &&
    socket.writeBuffer.length === 0;
  if (!movable) {
    debug(
      "refuse to move %s: state=%s held=%s transport=%s upgrading=%s dataReq=%s writeBuffer=%d",
      sid,
      socket.readyState,
      gate.isHeld(socket),
      transport.name,
      socket.upgrading,
      Boolean(transport.dataReq),
      socket.writeBuffer.length,
    );
    return undefined;
  }
  const buffered = gate.take(socket) ?? [];
  const request = socket.request;
  const snapshot: SessionSnapshot = {
    sid,
    protocol: socket.protocol,
    request: {
      method: "GET",
      url: request.url,
      headers: { ...request.headers },
      _query: { ...request._query },
      connection: { remoteAddress: request.connection?.remoteAddress ?? "" },
    },
    buffered: buffered.map((data) => (typeof data === "string" ? data : { b64: data.toString("base64") })),
  };
  if (transport.writable) transport.send([{ type: "noop" }]);
  transport.discard();
  socket.onClose("session moved");
  debug("moved %s away", sid);
  return snapshot;
}

/**
 * On the new owner: recreates a session from its snapshot, on a polling transport with no
 * pending request, held back by the gate until its upgrade completes.
 */
export function attachSession(
  engine: EngineServerInternals,
  gate: ConnectionGate,
  snapshot: SessionSnapshot,
): EngineSocket {
  const req = snapshot.request;
  // engine.io (6.6.13+) gives the transport its options (body size, compression, body timeout)
  const transport = engine.createTransport("polling", req);
  const socket = new Socket(snapshot.sid, engine as never, transport as never, req as never, snapshot.protocol) as unknown as EngineSocket;
  // the constructor queued a second `open` packet: the client already has the first one
  socket.writeBuffer.length = 0;
  transport.on("headers", (headers: unknown, request: unknown) => engine.emit("headers", headers, request));
  engine.clients[snapshot.sid] = socket;
  engine.clientsCount++;
  socket.once("close", () => {
    delete engine.clients[snapshot.sid];
    engine.clientsCount--;
  });
  const buffered: EnginePayload[] = snapshot.buffered.map((data) =>
    typeof data === "string" ? data : Buffer.from(data.b64, "base64"),
  );
  gate.hold(socket, buffered);
  debug("took over %s (%d buffered)", snapshot.sid, buffered.length);
  return socket;
}
