import { describe, expect, it } from "vitest";
import { OriginPolicy } from "./origin-policy";

describe("origin policy", () => {
  it("enforces a list, case-insensitively; no Origin header is allowed", () => {
    const policy = new OriginPolicy(["https://a.example", "http://B.example:8080"]);
    expect(policy.enforced).toBe(true);
    expect(policy.allows("https://a.example")).toBe(true);
    expect(policy.allows("http://b.example:8080")).toBe(true);
    expect(policy.allows("https://evil.example")).toBe(false);
    expect(policy.allows("null")).toBe(false);
    expect(policy.allows(undefined)).toBe(true);
    expect(policy.allows("")).toBe(true);
  });

  it("does not check with * or unset", () => {
    for (const policy of [new OriginPolicy("*"), new OriginPolicy(undefined)]) {
      expect(policy.enforced).toBe(false);
      expect(policy.allows("https://evil.example")).toBe(true);
    }
  });
});
