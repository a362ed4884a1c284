import type { Socket } from "socket.io-client";

/** A numbered broadcast stream sent by one client through the echo application's `shout`. */
export interface NumberedStream {
  /** Numbers the server acknowledged (broadcast to all as `{ n }`). */
  acked: number[];
  /** Every 5th number, also broadcast to the room as `{ room: n }`, when acknowledged. */
  roomAcked: number[];
  /** Stops sending; resolves once the last emit settled. */
  stop(): Promise<void>;
}

/**
 * Sends `{ n }` to all, one number after the other with `pauseMs` between them, and every 5th
 * number also `{ room: n }` to `room`. A number whose ack does not come (the sender's worker went
 * away) may or may not have gone out: it is not in `acked`.
 */
export function startNumberedStream(sender: Socket, room: string, pauseMs: number): NumberedStream {
  const acked: number[] = [];
  const roomAcked: number[] = [];
  let running = true;
  const loop = (async () => {
    for (let n = 1; running; n++) {
      try {
        await sender.timeout(30_000).emitWithAck("shout", { to: "all", payload: { n } });
        acked.push(n);
        if (n % 5 === 0) {
          await sender.timeout(30_000).emitWithAck("shout", { to: { room }, payload: { room: n } });
          roomAcked.push(n);
        }
      } catch {
        // not acknowledged: it may or may not have gone out
      }
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  })();
  return {
    acked,
    roomAcked,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}
