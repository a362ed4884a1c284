import { describe, expect, it } from "vitest";
import { roomsAfterJoin } from "./room-limit";

describe("roomsAfterJoin", () => {
  it("counts only rooms the socket is not in, once each", () => {
    const current = new Set(["id", "a"]);
    expect(roomsAfterJoin(current, ["a"])).toBe(2);
    expect(roomsAfterJoin(current, ["b", "b", "a", "c"])).toBe(4);
    expect(roomsAfterJoin(new Set(), [])).toBe(0);
  });
});
