import type { Family, FuzzContext } from "./family";
import type { RawAnswer } from "./net";
import { PollingTarget } from "./polling-target";
import { Random } from "./random";
import { WsTarget, type FrameOutcome } from "./ws-target";

export interface FuzzRunOptions {
  port: number;
  families: Array<{ family: Family; weight: number }>;
  /** Inputs to send in total. */
  total: number;
  /** Concurrent senders. */
  senders: number;
  seed: number;
  workerIds: number[];
  maxHttpBufferSize: number;
  /** Stops early (with what was sent) at this `Date.now()`. */
  deadline: number;
}

export interface FuzzSummary {
  inputs: number;
  ms: number;
  perFamily: Record<string, number>;
  /** How the server answered: `http <status>`, `closed`, `client hung up`, `ws alive`, `ws closed`, `ws no answer`. */
  outcomes: Record<string, number>;
  /** Exceptions in the fuzz harness itself (should be none). */
  harnessErrors: string[];
  pollingSessions: number;
  wsCloses: number;
  /** Frames after which the server neither answered the probe nor closed (see {@link WsTarget}). */
  unanswered: string[];
}

function outcomeOf(answer: RawAnswer | FrameOutcome | undefined): string {
  if (answer === undefined) return "no session";
  if (typeof answer === "string") return `ws ${answer}`;
  if (answer.status > 0) return `http ${answer.status}`;
  return answer.timedOut ? "client hung up" : "closed without answer";
}

/** Runs `senders` concurrent fuzz senders until `total` inputs were sent (or the deadline). */
export async function runFuzz(options: FuzzRunOptions): Promise<FuzzSummary> {
  const started = Date.now();
  const summary: FuzzSummary = { inputs: 0, ms: 0, perFamily: {}, outcomes: {}, harnessErrors: [], pollingSessions: 0, wsCloses: 0, unanswered: [] };
  const totalWeight = options.families.reduce((sum, f) => sum + f.weight, 0);
  const pickFamily = (rng: Random): Family => {
    let roll = rng.next() * totalWeight;
    for (const { family, weight } of options.families) if ((roll -= weight) < 0) return family;
    return options.families[options.families.length - 1]!.family;
  };
  let claimed = 0;

  const sender = async (index: number) => {
    const rng = new Random(options.seed + index * 7919);
    const ctx: FuzzContext = {
      port: options.port,
      rng,
      workerIds: options.workerIds,
      maxHttpBufferSize: options.maxHttpBufferSize,
      polling: new PollingTarget(options.port),
      ws: new WsTarget(options.port),
      note: (answer) => {
        const key = outcomeOf(answer);
        summary.outcomes[key] = (summary.outcomes[key] ?? 0) + 1;
      },
    };
    try {
      while (claimed < options.total && Date.now() < options.deadline) {
        claimed++;
        const family = pickFamily(rng);
        try {
          const sent = await family.step(ctx);
          summary.inputs += sent;
          summary.perFamily[family.name] = (summary.perFamily[family.name] ?? 0) + sent;
        } catch (err) {
          if (summary.harnessErrors.length < 20) summary.harnessErrors.push(`${family.name}: ${(err as Error).stack ?? String(err)}`);
        }
      }
    } finally {
      ctx.ws.close();
      summary.pollingSessions += ctx.polling.opened;
      summary.wsCloses += ctx.ws.closes;
      summary.unanswered.push(...ctx.ws.unanswered);
    }
  };
  await Promise.all(Array.from({ length: options.senders }, (_, i) => sender(i)));
  summary.ms = Date.now() - started;
  return summary;
}
