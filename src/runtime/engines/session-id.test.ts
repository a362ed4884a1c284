import { describe, expect, it } from "vitest";
import { createSessionId, ownerOf } from "./session-id";

describe("session ids name their owner", () => {
  it.each([1, 7, 36, 1000, 99_999])("worker %i", (worker) => {
    const sid = createSessionId(worker);
    expect(sid).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]{20}$/);
    expect(ownerOf(sid)).toBe(worker);
  });

  it("ids are unique", () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => createSessionId(3)));
    expect(ids.size).toBe(10_000);
  });

  it.each(["", "abc", ".xyz", "0.abc", "A.abc", "-1.abc", "123456789.abc", "ab c.def", "ZZZ"])(
    "%j names no owner",
    (sid) => {
      expect(ownerOf(sid)).toBeUndefined();
    },
  );
});
