import type { RawAnswer } from "./net";
import type { PollingTarget } from "./polling-target";
import type { Random } from "./random";
import type { FrameOutcome, WsTarget } from "./ws-target";

/** What one fuzz sender has at hand. */
export interface FuzzContext {
  port: number;
  rng: Random;
  /** Ids of the workers serving now (session ids name them). */
  workerIds: number[];
  /** The server's MAX_HTTP_BUFFER_SIZE. */
  maxHttpBufferSize: number;
  /** This sender's polling session. */
  polling: PollingTarget;
  /** This sender's WebSocket. */
  ws: WsTarget;
  /** Records how the server answered one input. */
  note(answer: RawAnswer | FrameOutcome | undefined): void;
}

/** One family of malformed inputs. */
export interface Family {
  name: string;
  /** Sends one input (a request, a frame or a raw write) and returns how many inputs it sent. */
  step(ctx: FuzzContext): Promise<number>;
}
