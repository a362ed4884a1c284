/** Why a new session is refused. */
export type LimitReason = "connections_per_ip" | "connection_rate";

export type Verdict = { ok: true } | { ok: false; reason: LimitReason; retryAfterS: number };

export interface AddressLimitsOptions {
  /** Most sessions open at once per address; `0`: no cap. */
  maxPerAddress: number;
  /** New sessions per second per address (token refill rate); `0`: no rate limit. */
  rate: number;
  /** Bucket size: new sessions an address may open at once. */
  burst: number;
}

/** `Retry-After` of a refusal at the cap: when a slot frees is unknown, so a few seconds. */
export const CAP_RETRY_AFTER_S = 5;

interface Entry {
  /** Open sessions of this address, all workers together. */
  total: number;
  /** Open sessions per worker: a dead worker's are dropped with it. */
  byWorker: Map<number, number>;
  tokens: number;
  refilledAt: number;
}

const OK: Verdict = { ok: true };

/**
 * Per-address session counts and new-session token buckets, for one machine (held by the
 * primary). Every open session is leased to the worker that holds it, so that a worker's death
 * releases its sessions ({@link releaseWorker}); a session that moves to another worker is
 * released by the old one and held by the new one. Pure: time comes in as `now` (ms).
 */
export class AddressLimits {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: AddressLimitsOptions) {}

  /** A new session from `address` on `worker`: counted and leased to it, or refused. */
  admit(worker: number, address: string, now: number): Verdict {
    const { maxPerAddress, rate } = this.options;
    const entry = this.entry(address, now);
    if (maxPerAddress > 0 && entry.total >= maxPerAddress) {
      return { ok: false, reason: "connections_per_ip", retryAfterS: CAP_RETRY_AFTER_S };
    }
    if (rate > 0) {
      this.refill(entry, now);
      if (entry.tokens < 1) {
        return { ok: false, reason: "connection_rate", retryAfterS: Math.max(1, Math.ceil((1 - entry.tokens) / rate)) };
      }
      entry.tokens -= 1;
    }
    this.add(entry, worker, 1);
    return OK;
  }

  /** A session that moved to `worker` (already admitted elsewhere): counted, never refused. */
  hold(worker: number, address: string, now: number): void {
    this.add(this.entry(address, now), worker, 1);
  }

  /** A session of `worker` closed (or moved away). Ignored when the worker holds none. */
  release(worker: number, address: string, now: number): void {
    const entry = this.entries.get(address);
    if (!entry || !(entry.byWorker.get(worker)! > 0)) return;
    this.add(entry, worker, -1);
    this.forgetIfIdle(address, entry, now);
  }

  /** Drops every session of a worker that exited; returns how many. */
  releaseWorker(worker: number, now: number): number {
    let released = 0;
    for (const [address, entry] of this.entries) {
      const held = entry.byWorker.get(worker);
      if (held === undefined) continue;
      entry.byWorker.delete(worker);
      entry.total -= held;
      released += held;
      this.forgetIfIdle(address, entry, now);
    }
    return released;
  }

  /** Open sessions of `address`. */
  count(address: string): number {
    return this.entries.get(address)?.total ?? 0;
  }

  /** Addresses tracked (open sessions or a bucket not yet full). */
  get size(): number {
    return this.entries.size;
  }

  /** Forgets addresses with no session whose bucket has filled up again. */
  sweep(now: number): void {
    for (const [address, entry] of this.entries) this.forgetIfIdle(address, entry, now);
  }

  private entry(address: string, now: number): Entry {
    let entry = this.entries.get(address);
    if (!entry) {
      entry = { total: 0, byWorker: new Map(), tokens: this.options.burst, refilledAt: now };
      this.entries.set(address, entry);
    }
    return entry;
  }

  private add(entry: Entry, worker: number, delta: number): void {
    const held = (entry.byWorker.get(worker) ?? 0) + delta;
    if (held === 0) entry.byWorker.delete(worker);
    else entry.byWorker.set(worker, held);
    entry.total += delta;
  }

  private refill(entry: Entry, now: number): void {
    const { rate, burst } = this.options;
    if (now > entry.refilledAt) entry.tokens = Math.min(burst, entry.tokens + ((now - entry.refilledAt) * rate) / 1000);
    entry.refilledAt = now;
  }

  private forgetIfIdle(address: string, entry: Entry, now: number): void {
    if (entry.total > 0) return;
    if (this.options.rate > 0) {
      this.refill(entry, now);
      if (entry.tokens < this.options.burst) return;
    }
    this.entries.delete(address);
  }
}
