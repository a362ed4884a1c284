import createDebug from "debug";
import type { EnginePayload, EngineSocket } from "../../sockets/internals";

const debug = createDebug("runtime:uws:gate");

interface Held {
  buffered: EnginePayload[];
  timer: NodeJS.Timeout;
  onData: (data: EnginePayload) => void;
  onUpgrade: () => void;
  onClose: () => void;
}

/**
 * Holds back the application-level `connection` of a new polling session for a short window,
 * so that the session can still move to the worker its WebSocket upgrade reaches before any
 * application code has seen it. Messages that arrive meanwhile are buffered and replayed, in
 * order, right after the connection is released: on upgrade, or when the window ends.
 */
export class ConnectionGate {
  private readonly held = new Map<EngineSocket, Held>();

  constructor(
    private readonly windowMs: number,
    private readonly release: (socket: EngineSocket) => void,
  ) {}

  /** Holds `socket`, starting with `buffered` (messages a previous owner already received). */
  hold(socket: EngineSocket, buffered: EnginePayload[] = []): void {
    const entry: Held = {
      buffered,
      timer: setTimeout(() => this.open(socket), this.windowMs),
      onData: (data) => buffered.push(data),
      onUpgrade: () => this.open(socket),
      onClose: () => this.forget(socket),
    };
    socket.on("data", entry.onData);
    socket.once("upgrade", entry.onUpgrade);
    socket.once("close", entry.onClose);
    this.held.set(socket, entry);
    debug("holding %s", socket.id);
  }

  isHeld(socket: EngineSocket): boolean {
    return this.held.has(socket);
  }

  /** Stops holding without releasing (the session moves away); returns what was buffered. */
  take(socket: EngineSocket): EnginePayload[] | undefined {
    const entry = this.forget(socket);
    return entry?.buffered;
  }

  private forget(socket: EngineSocket): Held | undefined {
    const entry = this.held.get(socket);
    if (!entry) return undefined;
    this.held.delete(socket);
    clearTimeout(entry.timer);
    socket.off("data", entry.onData);
    socket.off("upgrade", entry.onUpgrade);
    socket.off("close", entry.onClose);
    return entry;
  }

  private open(socket: EngineSocket): void {
    const entry = this.forget(socket);
    if (!entry || socket.readyState !== "open") return;
    debug("releasing %s (%s, %d buffered)", socket.id, socket.transport.name, entry.buffered.length);
    // replay as one batch: what the application answers goes out in one payload, as it would
    // had the messages been handled when they arrived
    const transport = socket.transport;
    const writable = transport.writable;
    transport.writable = false;
    try {
      this.release(socket);
      for (const data of entry.buffered) {
        if (socket.readyState !== "open") break;
        socket.emit("data", data);
        socket.emit("message", data);
      }
    } finally {
      if (socket.transport === transport && writable && socket.readyState === "open") {
        transport.writable = true;
        socket.flush();
      }
    }
  }
}
