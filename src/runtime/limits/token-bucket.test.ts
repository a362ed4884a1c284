import { describe, expect, it } from "vitest";
import { TokenBucket } from "./token-bucket";

describe("TokenBucket", () => {
  it("lets a burst through, then the rate", () => {
    const bucket = new TokenBucket(10, 5, 0);
    let allowed = 0;
    for (let i = 0; i < 20; i++) if (bucket.take(0)) allowed++;
    expect(allowed).toBe(5);
    expect(bucket.take(50)).toBe(false); // half a token
    expect(bucket.take(100)).toBe(true); // 100 ms at 10/s: one token
    expect(bucket.take(100)).toBe(false);
  });

  it("never holds more than the burst", () => {
    const bucket = new TokenBucket(100, 3, 0);
    expect(bucket.isFull(60_000)).toBe(true);
    let allowed = 0;
    for (let i = 0; i < 10; i++) if (bucket.take(60_000)) allowed++;
    expect(allowed).toBe(3);
    expect(bucket.isFull(60_000)).toBe(false);
    expect(bucket.isFull(60_030)).toBe(true);
  });

  it("ignores a clock that goes back", () => {
    const bucket = new TokenBucket(1, 1, 1000);
    expect(bucket.take(1000)).toBe(true);
    expect(bucket.take(0)).toBe(false);
    expect(bucket.take(2000)).toBe(true);
  });
});
