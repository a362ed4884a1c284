/**
 * A small mergeable latency histogram (log-linear buckets, ≤ 0.5 % relative error), so that
 * generator processes can send theirs to the harness and percentiles stay exact enough.
 * Values are in microseconds.
 */
const RATIO = 1.01;
const LOG_RATIO = Math.log(RATIO);

export interface HistogramData {
  /** bucket index → count */
  buckets: Record<string, number>;
  count: number;
  sum: number;
  min: number;
  max: number;
}

export interface Percentiles {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

const bucketOf = (us: number): number => (us < 1 ? 0 : Math.floor(Math.log(us) / LOG_RATIO) + 1);
/** The middle of a bucket, as a value. */
const valueOf = (bucket: number): number => (bucket === 0 ? 0.5 : Math.pow(RATIO, bucket - 0.5));

export class Histogram {
  private readonly counts = new Map<number, number>();
  count = 0;
  sum = 0;
  min = Infinity;
  max = 0;

  record(us: number): void {
    const value = us < 0 ? 0 : us;
    const bucket = bucketOf(value);
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  merge(data: HistogramData): this {
    for (const [key, n] of Object.entries(data.buckets)) {
      const bucket = Number(key);
      this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + n);
    }
    this.count += data.count;
    this.sum += data.sum;
    if (data.count > 0) {
      this.min = Math.min(this.min, data.min);
      this.max = Math.max(this.max, data.max);
    }
    return this;
  }

  reset(): void {
    this.counts.clear();
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = 0;
  }

  toJSON(): HistogramData {
    const buckets: Record<string, number> = {};
    for (const [bucket, n] of this.counts) buckets[bucket] = n;
    return { buckets, count: this.count, sum: this.sum, min: this.count ? this.min : 0, max: this.max };
  }

  /** The value at quantile `q` (0..1), in microseconds. The top quantile is the exact max. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    if (rank >= this.count) return this.max;
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket)!;
      if (seen >= rank) return Math.min(Math.max(valueOf(bucket), this.min), this.max);
    }
    return this.max;
  }

  /** Percentiles in milliseconds. */
  percentilesMs(): Percentiles {
    const ms = (us: number) => Math.round(us) / 1000;
    return {
      count: this.count,
      mean: this.count ? ms(this.sum / this.count) : 0,
      p50: ms(this.quantile(0.5)),
      p90: ms(this.quantile(0.9)),
      p99: ms(this.quantile(0.99)),
      p999: ms(this.quantile(0.999)),
      max: ms(this.max),
    };
  }

  static from(parts: HistogramData[]): Histogram {
    const histogram = new Histogram();
    for (const part of parts) histogram.merge(part);
    return histogram;
  }
}

/** Monotonic microseconds, the same clock in every process of the machine (CLOCK_MONOTONIC). */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
