import { describe, expect, it } from "vitest";
import { StateStore } from "./state-store";

describe("the primary's state store", () => {
  it("claims are exclusive, idempotent for their holder, and released only by it", () => {
    const store = new StateStore();
    expect(store.apply(1, { op: "claim", space: "names", key: "ann", holder: "a" })).toBe(true);
    expect(store.apply(2, { op: "claim", space: "names", key: "ann", holder: "b" })).toBe(false);
    expect(store.apply(1, { op: "claim", space: "names", key: "ann", holder: "a" })).toBe(true);
    expect(store.apply(2, { op: "release", space: "names", key: "ann", holder: "b" })).toBe(false);
    expect(store.apply(1, { op: "keys", space: "names" })).toEqual(["ann"]);
    expect(store.apply(1, { op: "release", space: "names", key: "ann", holder: "a" })).toBe(true);
    expect(store.apply(2, { op: "claim", space: "names", key: "ann", holder: "b" })).toBe(true);
  });

  it("counters sum every worker's contribution; sequences only go up", () => {
    const store = new StateStore();
    expect(store.apply(1, { op: "add", name: "c", delta: 2 })).toBe(2);
    expect(store.apply(2, { op: "add", name: "c", delta: 3 })).toBe(5);
    expect(store.apply(2, { op: "add", name: "c", delta: -1 })).toBe(4);
    expect(store.apply(3, { op: "value", name: "c" })).toBe(4);
    expect([1, 2, 3].map((w) => store.apply(w, { op: "next", name: "s" }))).toEqual([1, 2, 3]);
  });

  it("a dead worker's claims and contributions are dropped, the rest kept", () => {
    const store = new StateStore();
    store.apply(1, { op: "claim", space: "names", key: "ann", holder: "a" });
    store.apply(2, { op: "claim", space: "names", key: "bob", holder: "b" });
    store.apply(1, { op: "add", name: "c", delta: 2 });
    store.apply(2, { op: "add", name: "c", delta: 1 });
    store.apply(1, { op: "next", name: "s" });
    expect(store.releaseWorker(1)).toEqual({ spaces: ["names"], counters: ["c"] });
    expect(store.apply(2, { op: "keys", space: "names" })).toEqual(["bob"]);
    expect(store.apply(2, { op: "value", name: "c" })).toBe(1);
    expect(store.apply(2, { op: "next", name: "s" })).toBe(2);
    expect(store.releaseWorker(1)).toEqual({ spaces: [], counters: [] });
  });
});
