import type { BroadcastOptions } from "socket.io-adapter";

/**
 * Broadcasts and sessions as they cross processes (IPC or Redis), one format for both backends,
 * and Socket.IO's rule of who receives a broadcast, written once.
 */

/** A broadcast's target as it crosses processes (Sets become arrays). */
export interface WireOptions {
  rooms: string[];
  except: string[];
  flags?: Record<string, unknown>;
}

/** A Socket.IO packet as it crosses processes. */
export interface WirePacket {
  type: number;
  data: unknown[];
  nsp: string;
}

/** A session as connection state recovery keeps it. */
export interface WireSession {
  sid: string;
  pid: string;
  rooms: string[];
  data: unknown;
}

export const toWire = (opts: BroadcastOptions): WireOptions => ({
  rooms: [...opts.rooms].map(String),
  except: [...(opts.except ?? [])].map(String),
  ...(opts.flags ? { flags: { ...opts.flags } } : {}),
});

export const fromWire = (opts: WireOptions): BroadcastOptions => ({
  rooms: new Set(opts.rooms),
  except: new Set(opts.except),
  flags: opts.flags,
});

/**
 * Whether a socket in `rooms` is a recipient of a broadcast to `target` (Socket.IO's rule: in one
 * of the target rooms, or any socket when there are none, and in none of the excepted rooms).
 */
export function reaches(rooms: Iterable<string>, target: { rooms: Iterable<string>; except: Iterable<string> }): boolean {
  const list = [...rooms];
  const to = [...target.rooms];
  const except = new Set(target.except);
  return (to.length === 0 || list.some((room) => to.includes(room))) && list.every((room) => !except.has(room));
}

/**
 * The offset a reconnecting client is given when it has none: "from the start of my session".
 * socket.io-client sends its recovery id with the offset of the last broadcast it received, and
 * none until it received one; Socket.IO then does not even try to restore (both are needed), and
 * a client cut off before its first broadcast would lose the ones sent while it was away. With
 * this, the backends restore such a session with every broadcast since it began.
 */
export const SESSION_START = "";

/** The `handshake` hook that gives a client with a recovery id and no offset {@link SESSION_START}. */
export function fillSessionStart(_nsp: unknown, auth: Record<string, unknown>): void {
  if (typeof auth.pid === "string" && auth.offset === undefined) auth.offset = SESSION_START;
}
