/**
 * The HTTP load generator (a process of its own, forked by the harness): runs autocannon against
 * each URL in turn and reports, for each, its figures and its own CPU and event-loop lag. It says
 * `start` before each URL so that the harness can measure the server's CPU over the same span.
 */
import autocannon from "autocannon";
import { UsageMeter, type Usage } from "./usage";

export interface HttpLoadRequest {
  urls: string[];
  connections: number;
  durationS: number;
  /** autocannon worker threads (0: the main thread only). */
  threads: number;
}

export interface HttpLoadResult {
  requestsPerSec: number;
  total: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  bytesPerSec: number;
}

export type HttpLoadMessage =
  | { type: "start"; url: string }
  | { type: "done"; url: string; ok: true; result: HttpLoadResult; usage: Usage }
  | { type: "done"; url: string; ok: false; error: string; usage: Usage };

const meter = new UsageMeter();
const send = (message: HttpLoadMessage) => new Promise<void>((resolve) => process.send!(message, () => resolve()));

function run(url: string, request: HttpLoadRequest): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections: request.connections,
        duration: request.durationS,
        pipelining: 1,
        ...(request.threads > 0 ? { workers: request.threads } : {}),
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

process.once("message", async (request: HttpLoadRequest) => {
  for (const url of request.urls) {
    await send({ type: "start", url });
    meter.start();
    try {
      const result = await run(url, request);
      const usage = meter.read();
      // with worker threads, one core per thread is the ceiling
      usage.saturated = usage.cpu / Math.max(1, request.threads) >= 0.9 || usage.lagP99Ms >= 50;
      const latency = result.latency;
      await send({
        type: "done",
        url,
        ok: true,
        usage,
        result: {
          requestsPerSec: Math.round(result.requests.total / Math.max(result.duration, 1e-3)),
          total: result.requests.total,
          latencyMs: { p50: latency.p50, p90: latency.p90, p99: latency.p99, max: latency.max, mean: latency.mean },
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          bytesPerSec: Math.round(result.throughput.average),
        },
      });
    } catch (err) {
      await send({ type: "done", url, ok: false, error: (err as Error).message, usage: meter.read() });
    }
  }
  process.exit(0);
});
