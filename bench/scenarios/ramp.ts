import { rssOf, sleep } from "../lib/processes";
import { closeAll, connectClients, round, untilIdle, type RampFigures } from "./common";
import type { PhaseLoad, Scenario } from "./types";

export interface RampData {
  websocket: RampFigures & { load: PhaseLoad };
  /** Default client (polling handshake, then WebSocket upgrade); `null` where the system has no polling. */
  polling: (RampFigures & { load: PhaseLoad; afterDisconnect: RampData["afterDisconnect"] }) | null;
  /** After the WebSocket clients left: how long the server stayed busy, and its CPU time meanwhile. */
  afterDisconnect: { seconds: number; cpuSeconds: number; reachedIdle: boolean };
  memory: {
    processes: number;
    baselineRssMB: number;
    loadedRssMB: number;
    /** (RSS with the WebSocket clients connected − RSS before), both after GC, per connection. */
    perConnectionKB: number;
    /** The first PID is the primary (or the only process). */
    perProcess: Array<{ pid: number; beforeMB: number; afterMB: number }>;
  };
}

const MB = 1024 * 1024;

/**
 * Connection ramp: time and rate to connect N WebSocket-only clients, server RSS per idle
 * connection after GC (all the server's processes), then the same N with the default client
 * (polling handshake → upgrade).
 */
export const ramp: Scenario<RampData> = {
  name: "ramp",
  title: "Connection ramp",
  summarize: (d) =>
    `ws ${Math.round(d.websocket.ratePerSec)} conn/s` +
    (d.polling ? `, polling ${Math.round(d.polling.ratePerSec)} conn/s` : "") +
    `, ${d.memory.perConnectionKB} KB/conn, busy ${d.afterDisconnect.seconds} s after disconnect` +
    (d.polling ? ` (${d.polling.afterDisconnect.seconds} s after the default clients)` : ""),
  async run({ options, spec, system, fleet, progress }) {
    const notes: string[] = [];
    // a first batch, closed again, so that code compiled and buffers allocated once per process
    // are in the baseline and not counted per connection
    const warmup = Math.min(1000, Math.ceil(options.clients / 2));
    progress.phase("ramp", spec.name, `warm-up (${warmup} clients)`, "conn");
    await connectClients(fleet, system, progress, warmup, "websocket", { concurrency: 64, timeoutMs: options.connectTimeoutMs });
    await closeAll(fleet);
    await sleep(options.settleMs);
    const pids = await system.pids();
    await system.gc();
    const before = pids.map(rssOf);
    const baseline = before.reduce((a, b) => a + b, 0);

    progress.phase("ramp", spec.name, "websocket clients", "conn");
    const ws = await connectClients(fleet, system, progress, options.clients, "websocket", { concurrency: 128, timeoutMs: options.connectTimeoutMs });
    if (ws.figures.failed > 0) notes.push(`${ws.figures.failed} WebSocket connections failed: ${ws.figures.errors.join("; ")}`);
    progress.phase("ramp", spec.name, "RSS after GC", "");
    await sleep(options.settleMs / 2);
    await system.gc();
    const after = pids.map(rssOf);
    const loaded = after.reduce((a, b) => a + b, 0);
    progress.phase("ramp", spec.name, "disconnect, until idle", "");
    await closeAll(fleet);
    const afterDisconnect = await untilIdle(system, 60_000);
    if (!afterDisconnect.reachedIdle) notes.push(`the server was still busy ${afterDisconnect.seconds} s after the WebSocket clients left`);

    let polling: RampData["polling"] = null;
    if (spec.supports.polling) {
      progress.phase("ramp", spec.name, "default clients (polling)", "conn");
      const result = await connectClients(fleet, system, progress, options.clients, "polling", { concurrency: 128, timeoutMs: options.connectTimeoutMs });
      if (result.figures.failed > 0) notes.push(`${result.figures.failed} polling→upgrade connections failed: ${result.figures.errors.join("; ")}`);
      progress.phase("ramp", spec.name, "disconnect, until idle", "");
      await closeAll(fleet);
      const idle = await untilIdle(system, 60_000);
      if (!idle.reachedIdle) notes.push(`the server was still busy ${idle.seconds} s after the default clients left`);
      polling = { ...result.figures, load: result.load, afterDisconnect: idle };
    } else {
      notes.push("no polling transport: default-client ramp not applicable");
    }
    return {
      data: {
        websocket: { ...ws.figures, load: ws.load },
        polling,
        afterDisconnect,
        memory: {
          processes: pids.length,
          baselineRssMB: round(baseline / MB, 1),
          loadedRssMB: round(loaded / MB, 1),
          perConnectionKB: ws.figures.connected > 0 ? round((loaded - baseline) / 1024 / ws.figures.connected, 2) : 0,
          perProcess: pids.map((pid, i) => ({ pid, beforeMB: round(before[i]! / MB, 1), afterMB: round(after[i]! / MB, 1) })),
        },
      },
      notes,
    };
  },
};
