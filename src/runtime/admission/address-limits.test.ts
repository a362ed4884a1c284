import { describe, expect, it } from "vitest";
import { loadConfig } from "../../config/env";
import { AddressLimits, CAP_RETRY_AFTER_S } from "./address-limits";

describe("per-address limits", () => {
  it("caps open sessions per address across workers; a release frees a slot", () => {
    const limits = new AddressLimits({ maxPerAddress: 2, rate: 0, burst: 1 });
    expect(limits.admit(1, "a", 0)).toEqual({ ok: true });
    expect(limits.admit(2, "a", 0)).toEqual({ ok: true });
    expect(limits.admit(1, "a", 0)).toEqual({ ok: false, reason: "connections_per_ip", retryAfterS: CAP_RETRY_AFTER_S });
    expect(limits.admit(1, "b", 0).ok).toBe(true);
    limits.release(2, "a", 0);
    expect(limits.admit(1, "a", 0).ok).toBe(true);
  });

  it("a release by a worker that holds nothing changes nothing", () => {
    const limits = new AddressLimits({ maxPerAddress: 1, rate: 0, burst: 1 });
    limits.admit(1, "a", 0);
    limits.release(2, "a", 0);
    limits.release(2, "zzz", 0);
    expect(limits.count("a")).toBe(1);
  });

  it("a dead worker's sessions are released, the others' kept", () => {
    const limits = new AddressLimits({ maxPerAddress: 3, rate: 0, burst: 1 });
    limits.admit(1, "a", 0);
    limits.admit(1, "a", 0);
    limits.admit(2, "a", 0);
    expect(limits.releaseWorker(1, 0)).toBe(2);
    expect(limits.count("a")).toBe(1);
    expect(limits.releaseWorker(1, 0)).toBe(0);
  });

  it("a session that moves is released by the old worker and held by the new one", () => {
    const limits = new AddressLimits({ maxPerAddress: 1, rate: 0, burst: 1 });
    limits.admit(1, "a", 0);
    limits.hold(2, "a", 0); // the new owner, possibly before the old one's release arrives
    limits.release(1, "a", 0);
    expect(limits.count("a")).toBe(1);
    expect(limits.releaseWorker(1, 0)).toBe(0); // the old owner dying changes nothing
    expect(limits.admit(3, "a", 0).ok).toBe(false);
    expect(limits.releaseWorker(2, 0)).toBe(1); // the new owner dying frees it
    expect(limits.admit(3, "a", 0).ok).toBe(true);
  });

  it("limits the rate of new sessions with a token bucket", () => {
    const limits = new AddressLimits({ maxPerAddress: 0, rate: 2, burst: 3 });
    for (let i = 0; i < 3; i++) expect(limits.admit(1, "a", 1000).ok).toBe(true);
    expect(limits.admit(1, "a", 1000)).toEqual({ ok: false, reason: "connection_rate", retryAfterS: 1 });
    expect(limits.admit(1, "a", 1400).ok).toBe(false); // 0.8 token
    expect(limits.admit(1, "a", 1500).ok).toBe(true); // 1 token after 500 ms at 2/s
    expect(limits.admit(1, "b", 1500).ok).toBe(true); // per address
    const slow = new AddressLimits({ maxPerAddress: 0, rate: 1, burst: 1 });
    slow.admit(1, "a", 0);
    expect(slow.admit(1, "a", 0)).toMatchObject({ ok: false, retryAfterS: 1 });
  });

  it("a refusal at the cap does not spend a token", () => {
    const limits = new AddressLimits({ maxPerAddress: 1, rate: 1, burst: 2 });
    const releaseThenAdmit = () => (limits.release(1, "a", 0), limits.admit(1, "a", 0));
    const steps = [
      () => limits.admit(1, "a", 0), // the first token
      () => limits.admit(1, "a", 0), // at the cap: refused, no token spent
      releaseThenAdmit, // the second token
      releaseThenAdmit, // none left
    ];
    const outcomes = steps.map((step) => {
      const verdict = step();
      return verdict.ok ? "ok" : verdict.reason;
    });
    expect(outcomes).toEqual(["ok", "connections_per_ip", "ok", "connection_rate"]);
  });

  it("forgets idle addresses once their bucket is full again", () => {
    const limits = new AddressLimits({ maxPerAddress: 10, rate: 10, burst: 5 });
    limits.admit(1, "a", 0);
    limits.release(1, "a", 0);
    expect(limits.size).toBe(1);
    limits.sweep(50);
    expect(limits.size).toBe(1);
    limits.sweep(100);
    expect(limits.size).toBe(0);
    const capOnly = new AddressLimits({ maxPerAddress: 10, rate: 0, burst: 1 });
    capOnly.admit(1, "a", 0);
    capOnly.release(1, "a", 0);
    expect(capOnly.size).toBe(0);
  });
});

describe("per-address limits at their defaults", () => {
  const config = loadConfig({});
  const defaults = () =>
    new AddressLimits({ maxPerAddress: config.maxConnectionsPerIp, rate: config.connectionRate, burst: config.connectionBurst });

  it("admit a reconnection storm of 10,000 clients from one address (a restarted machine behind one NAT)", () => {
    const limits = defaults();
    const verdicts = Array.from({ length: 10_000 }, () => limits.admit(1, "203.0.113.7", 0));
    expect(verdicts.filter((v) => !v.ok)).toEqual([]);
  });

  it("cut one address that keeps opening sessions at 10,000 a second", () => {
    const limits = defaults();
    let refused = 0;
    // 3 s at 10,000/s, each session closed at once (so only the rate can stop it)
    for (let i = 0; i < 30_000; i++) {
      const now = i / 10; // ms
      const verdict = limits.admit(1, "198.51.100.9", now);
      if (verdict.ok) limits.release(1, "198.51.100.9", now);
      else refused++;
    }
    expect(refused).toBeGreaterThan(15_000);
  });
});
