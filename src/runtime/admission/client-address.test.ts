import { describe, expect, it } from "vitest";
import { canonicalAddress, clientAddress, TrustedProxies } from "./client-address";

describe("client address", () => {
  it("writes every form of an address one way", () => {
    expect(canonicalAddress("127.0.0.1")).toBe("127.0.0.1");
    expect(canonicalAddress("::ffff:127.0.0.1")).toBe("127.0.0.1");
    expect(canonicalAddress("0000:0000:0000:0000:0000:ffff:7f00:0001")).toBe("127.0.0.1");
    expect(canonicalAddress("0000:0000:0000:0000:0000:0000:0000:0001")).toBe("::1");
    expect(canonicalAddress(" 2001:DB8::1 ")).toBe("2001:db8::1");
    expect(canonicalAddress("[2001:db8::1]:443")).toBe("2001:db8::1");
    expect(canonicalAddress("203.0.113.9:5678")).toBe("203.0.113.9");
    for (const bad of ["", "unknown", "1.2.3", "999.1.1.1", "[::1", "a.b.c.d:1"]) expect(canonicalAddress(bad)).toBeUndefined();
  });

  it("ignores X-Forwarded-For unless the peer is a trusted proxy", () => {
    const none = new TrustedProxies([]);
    expect(clientAddress("127.0.0.1", "203.0.113.9", none)).toBe("127.0.0.1");
    const loopback = new TrustedProxies(["loopback"]);
    expect(clientAddress("198.51.100.7", "203.0.113.9", loopback)).toBe("198.51.100.7");
    expect(clientAddress("::ffff:127.0.0.1", undefined, loopback)).toBe("127.0.0.1");
  });

  it("takes the right-most entry that is not a trusted proxy", () => {
    const trusted = new TrustedProxies(["loopback", "10.0.0.0/8", "2001:db8::/32"]);
    expect(clientAddress("127.0.0.1", "203.0.113.9", trusted)).toBe("203.0.113.9");
    // a forged left part is never reached
    expect(clientAddress("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.1.2.3", trusted)).toBe("203.0.113.9");
    expect(clientAddress("::1", "203.0.113.9,2001:db8::5", trusted)).toBe("203.0.113.9");
    // everything trusted: the left-most; garbage stops at the last good address
    expect(clientAddress("127.0.0.1", "10.0.0.1, 10.0.0.2", trusted)).toBe("10.0.0.1");
    expect(clientAddress("127.0.0.1", "garbage, 10.0.0.2", trusted)).toBe("10.0.0.2");
    expect(clientAddress("127.0.0.1", "", trusted)).toBe("127.0.0.1");
  });

  it("refuses a list entry that is not an address, a range or loopback", () => {
    expect(() => new TrustedProxies(["1.2.3"])).toThrow(/1\.2\.3/);
    expect(() => new TrustedProxies(["10.0.0.0/33"])).toThrow();
    expect(new TrustedProxies(["192.168.1.10"]).has("192.168.1.10")).toBe(true);
    expect(new TrustedProxies(["192.168.1.10"]).has("192.168.1.11")).toBe(false);
  });
});
