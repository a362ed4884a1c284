import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

/** What a generator process reports about itself for one measured interval. */
export interface Usage {
  /** CPU used (user + system) as a share of one core: 1 = one full core. */
  cpu: number;
  /** Event-loop delay percentiles over the interval (ms). */
  lagP99Ms: number;
  lagMaxMs: number;
  /** The generator may have limited the figures (CPU ≥ 90 % of a core or loop lag p99 ≥ 50 ms). */
  saturated: boolean;
}

export const SATURATION = { cpu: 0.9, lagP99Ms: 50 } as const;

/** Measures this process's CPU and event-loop lag from `start()` on. */
export class UsageMeter {
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private cpuStart = process.cpuUsage();
  private wallStart = process.hrtime.bigint();

  constructor() {
    this.loop.enable();
  }

  start(): void {
    this.cpuStart = process.cpuUsage();
    this.wallStart = process.hrtime.bigint();
    this.loop.reset();
  }

  read(): Usage {
    const cpu = process.cpuUsage(this.cpuStart);
    const wallUs = Number(process.hrtime.bigint() - this.wallStart) / 1000;
    const share = wallUs > 0 ? (cpu.user + cpu.system) / wallUs : 0;
    const lagP99Ms = this.loop.count > 0 ? this.loop.percentile(99) / 1e6 : 0;
    const lagMaxMs = this.loop.count > 0 ? this.loop.max / 1e6 : 0;
    return {
      cpu: Math.round(share * 1000) / 1000,
      lagP99Ms: Math.round(lagP99Ms * 10) / 10,
      lagMaxMs: Math.round(lagMaxMs * 10) / 10,
      saturated: share >= SATURATION.cpu || lagP99Ms >= SATURATION.lagP99Ms,
    };
  }
}
