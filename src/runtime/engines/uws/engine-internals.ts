import type { EventEmitter } from "node:events";

/**
 * The parts of engine.io's server, socket and transport that sticky routing works with.
 * They are not in engine.io's public typings; this file is the one place that names them.
 */
export interface EngineTransport extends EventEmitter {
  readonly name: string;
  writable: boolean;
  discarded: boolean;
  /** Set while a polling POST body is being received. */
  dataReq?: unknown;
  send(packets: Array<{ type: string; data?: unknown }>): void;
  discard(): void;
}

export interface EngineSocket extends EventEmitter {
  readonly id: string;
  readonly readyState: string;
  upgrading: boolean;
  upgraded: boolean;
  writeBuffer: unknown[];
  transport: EngineTransport;
  request: EngineRequestLike;
  protocol: number;
  onClose(reason: string): void;
  flush(): void;
}

/** What engine.io keeps of a request (`socket.request`) and what Socket.IO's handshake reads. */
export interface EngineRequestLike {
  method: string;
  url: string;
  headers: Record<string, string>;
  _query: Record<string, string>;
  connection: { remoteAddress: string };
}

export interface EngineServer {
  clients: Record<string, EngineSocket>;
  clientsCount: number;
  opts: { maxHttpBufferSize: number; httpCompression?: unknown; transports: string[]; pingInterval: number };
  createTransport(name: string, req: EngineRequestLike): EngineTransport;
}

/** Engine.IO message payloads: text or binary. */
export type EnginePayload = string | Buffer;
