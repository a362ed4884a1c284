import type { Server, Socket } from "socket.io";
import type { Logger } from "../../log/logger";

/** The per-socket limits of one Socket.IO server (from `src/config/env.ts`). */
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

/** A Socket.IO socket's public members (a type that its private-member variants below can extend). */
export type PublicSocket = Pick<Socket, keyof Socket>;

/** Socket.IO's private members the limits use (socket.io 4.8). */
export interface SocketInternals extends PublicSocket {
  onevent(packet: { data?: unknown[]; id?: number; [key: symbol]: unknown }): void;
  dispatch(event: unknown[]): void;
  run(event: unknown[], fn: (err?: Error) => void): void;
  _onerror(err: Error): void;
  ack(id: number): (...args: unknown[]) => void;
}

const installed = new WeakMap<Server, SocketLimits>();

export function setLimits(io: Server, limits: SocketLimits): void {
  installed.set(io, limits);
}

/** The limits of the server `socket` belongs to; undefined when none were installed. */
export function limitsOf(socket: PublicSocket): SocketLimits | undefined {
  return installed.get(socket.nsp.server);
}

/** An event's name for logs: a string, at most 64 characters. */
export function eventNameOf(event: unknown[] | undefined): string {
  const name = event?.[0];
  return typeof name === "string" || typeof name === "number" ? String(name).slice(0, 64) : "(none)";
}
