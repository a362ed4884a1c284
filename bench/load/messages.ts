import type { HistogramData } from "../lib/percentiles";
import type { Usage } from "./usage";

/** Commands the harness sends to a generator process (one at a time per process). */
export type Command =
  | {
      cmd: "connect";
      host: string;
      port: number;
      count: number;
      transport: "websocket" | "polling";
      localAddresses: string[];
      concurrency: number;
      timeoutMs: number;
    }
  | { cmd: "whoami" }
  | { cmd: "keep"; indices: number[] }
  | { cmd: "join"; rooms: number; skip: number[] }
  | { cmd: "echoMax"; durationMs: number; warmupMs: number; window: number }
  | { cmd: "echoRate"; rate: number; durationMs: number; warmupMs: number; drainMs: number }
  | { cmd: "listen" }
  | { cmd: "received" }
  | {
      cmd: "shout";
      sender: number;
      /** 0: `io.emit` to everyone; otherwise round-robin over rooms r0…r(n-1). */
      rooms: number;
      window: number;
      durationMs: number;
    }
  | { cmd: "shoutAtRate"; sender: number; rooms: number; rate: number; durationMs: number }
  | { cmd: "shoutOnce"; sender: number }
  | { cmd: "status" }
  | { cmd: "close" }
  | { cmd: "exit" };

export type Request = Command & { id: number };

export interface ConnectResult {
  /** HTTP requests (default clients only: handshake, POST, polls). */
  httpRequests: number;
  /** Long-poll GETs among them. */
  polls: number;
  connected: number;
  failed: number;
  errors: string[];
  elapsedMs: number;
  /** When the last connection that succeeded was up (failures end only with their timeout). */
  lastSuccessMs: number;
  latency: HistogramData;
}
export interface EchoResult {
  sent: number;
  acked: number;
  /** Echoes never answered before the drain ended (open loop). */
  unanswered: number;
  elapsedMs: number;
  latency: HistogramData;
}
export interface ReceiveResult {
  received: number;
  /** Connections (receivers) that got no broadcast since `listen`. */
  silent: number;
  receivers: number;
  firstReceiveUs: number;
  lastReceiveUs: number;
  latency: HistogramData;
}
export interface ShoutResult {
  sent: number;
  completed: number;
  /** Shouts whose clock receivers never saw them (given up after 5 s). */
  abandoned: number;
  firstSendUs: number;
  lastSendUs: number;
}
export interface StatusResult {
  open: number;
  lost: number;
}

/** A generator's answer: the result, and its own CPU and loop lag over the command. */
export type Reply =
  | { id: number; ok: true; result: unknown; usage: Usage }
  | { id: number; ok: false; error: string; usage: Usage };

/** Unsolicited progress: the running count of the current command. */
export interface Tick {
  tick: number;
}
