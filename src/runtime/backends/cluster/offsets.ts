/**
 * Connection state recovery offsets of the cluster backend: positions in the per-origin streams of
 * recoverable broadcasts.
 *
 * Every worker's life is an *origin*, numbered by the primary (1, 2, …, across restarts and
 * deploys of the same log). A worker numbers the recoverable broadcasts it originates (1, 2, …),
 * delivers each to its own sockets at once, and sends it to the primary, which logs it and
 * forwards it to the other workers. Pipes are in order, so every worker delivers each origin's
 * broadcasts in that origin's order (origins interleave differently on different workers).
 *
 * An offset is where a worker stood when it delivered a packet: for every origin, the last
 * sequence number it had delivered. Written `<boot>.<low>.<s_low>,<s_low+1>,…` (base 36): origins
 * below `low` ended (their worker is gone) and were delivered to their end; origins past the last
 * listed one had delivered nothing. A client's offset therefore names exactly the broadcasts it
 * was sent: per origin, a prefix.
 */

/** A position: per origin (from `low` on), the last sequence number delivered. */
export interface Position {
  /** The recovery log's life (offsets of another life are not ours). */
  boot: string;
  /** Every origin below it ended and is delivered to its end. */
  low: number;
  /** Sequence numbers of origins `low`, `low + 1`, …. */
  seqs: number[];
}

/** The offset string of a position. */
export function encodeOffset(position: Position): string {
  let list = "";
  for (let i = 0; i < position.seqs.length; i++) list += (i === 0 ? "" : ",") + position.seqs[i]!.toString(36);
  return `${position.boot}.${position.low.toString(36)}.${list}`;
}

/** The position an offset string names, or `null` when it is not one of ours. */
export function parseOffset(offset: string): Position | null {
  const parts = offset.split(".");
  if (parts.length !== 3 || !parts[0]) return null;
  const low = parseInt(parts[1]!, 36);
  const seqs = parts[2] === "" ? [] : parts[2]!.split(",").map((text) => parseInt(text, 36));
  if (!Number.isSafeInteger(low) || low < 1 || !seqs.every((seq) => Number.isSafeInteger(seq) && seq >= 0)) return null;
  return { boot: parts[0], low, seqs };
}

/** The sequence number a position names for `origin` (`final`: that origin's end, if it ended). */
export function seqAt(position: Position, origin: number, final: (origin: number) => number | undefined): number | undefined {
  if (origin < position.low) return final(origin);
  return position.seqs[origin - position.low] ?? 0;
}

/**
 * A worker's delivery position (see the module's comment), kept up to date as it delivers, with
 * its offset string cached between deliveries.
 */
export class DeliveryPosition {
  private readonly seqs = new Map<number, number>();
  /** Origins at or above `low` that ended, waiting for the ones below them. */
  private readonly endedAbove = new Set<number>();
  private low: number;
  private cached: string | undefined;
  /** The last sequence number given to one of this worker's own broadcasts. */
  private numbered = 0;

  private readonly boot: string;

  constructor(
    start: Position,
    /** This worker's origin (0: a position that numbers no broadcasts of its own). */
    readonly origin = 0,
  ) {
    this.boot = start.boot;
    this.low = start.low;
    start.seqs.forEach((seq, i) => this.seqs.set(start.low + i, seq));
  }

  /** The last sequence number delivered of `origin` (0: none; `undefined`: it ended before). */
  at(origin: number): number | undefined {
    return origin < this.low ? undefined : (this.seqs.get(origin) ?? 0);
  }

  /** Whether a broadcast of `origin` numbered `seq` is the next one to deliver (not one of an origin that ended, nor a repeat). */
  accepts(origin: number, seq: number): boolean {
    return origin >= this.low && !this.endedAbove.has(origin) && seq > (this.seqs.get(origin) ?? 0);
  }

  /** `origin`'s broadcast `seq` is delivered here. */
  delivered(origin: number, seq: number): void {
    this.seqs.set(origin, seq);
    this.cached = undefined;
  }

  /** The next sequence number of this worker's own broadcasts (counted as delivered once {@link delivered}). */
  next(): number {
    return ++this.numbered;
  }

  /** `origin` ended at `final` (everything of it was delivered before this notice). */
  originEnded(origin: number, final: number): void {
    if (origin < this.low) return;
    this.seqs.set(origin, Math.max(final, this.seqs.get(origin) ?? 0));
    this.endedAbove.add(origin);
    while (this.endedAbove.has(this.low)) {
      this.endedAbove.delete(this.low);
      this.seqs.delete(this.low);
      this.low++;
    }
    this.cached = undefined;
  }

  /** Where this worker stands. */
  position(): Position {
    let top = this.low - 1;
    for (const origin of this.seqs.keys()) top = Math.max(top, origin);
    const seqs: number[] = [];
    for (let origin = this.low; origin <= top; origin++) seqs.push(this.seqs.get(origin) ?? 0);
    return { boot: this.boot, low: this.low, seqs };
  }

  /** The offset of what was delivered here so far. */
  offset(): string {
    return (this.cached ??= encodeOffset(this.position()));
  }
}
