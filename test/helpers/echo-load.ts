import type { Socket } from "socket.io-client";

/** Acked echoes from every client, one after the other per client (see {@link startEchoLoad}). */
export interface EchoLoad {
  /** Echoes sent so far. */
  readonly sent: number;
  /** Echoes answered with what was sent. */
  readonly acked: number;
  /** Echoes that failed: the client's error (`socket has been disconnected`, a timeout) or `wrong answer …`. */
  readonly failures: string[];
  /** Stops sending; resolves once every echo in flight settled. */
  stop(): Promise<void>;
}

/**
 * Every client emits `echo` with `"<client index>:<n>"` and waits for the answer (at most
 * `timeoutMs`), then `periodMs`, then the next, until stopped: the load of a deploy test, whose
 * clients must get every answer or a rejection, never a wrong one.
 */
export function startEchoLoad(clients: Socket[], periodMs: number, timeoutMs = 30_000): EchoLoad {
  let running = true;
  let sent = 0;
  let acked = 0;
  const failures: string[] = [];
  const loops = clients.map(async (s, i) => {
    for (let n = 0; running; n++) {
      sent++;
      try {
        const answer = await s.timeout(timeoutMs).emitWithAck("echo", `${i}:${n}`);
        if (answer === `${i}:${n}`) acked++;
        else failures.push(`wrong answer ${String(answer)}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
      await new Promise((resolve) => setTimeout(resolve, periodMs));
    }
  });
  return {
    get sent() {
      return sent;
    },
    get acked() {
      return acked;
    },
    failures,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}
