import { describe, expect, it } from "vitest";
import { AddressSlots } from "./address-slots";

const ADDRESSES = Array.from({ length: 64 }, (_, i) => `10.0.${i >> 4}.${i}`);
const mapping = (slots: AddressSlots, ready: number[]) => ADDRESSES.map((address) => slots.pick(address, ready));

describe("AddressSlots", () => {
  it("spreads addresses over every worker and keeps each address on one worker", () => {
    const slots = new AddressSlots(4);
    const first = mapping(slots, [1, 2, 3, 4]);
    expect(new Set(first)).toEqual(new Set([1, 2, 3, 4]));
    expect(mapping(slots, [1, 2, 3, 4])).toEqual(first);
    expect(slots.pick("::ffff:10.0.0.1", [1, 2, 3, 4])).toBe(slots.pick("10.0.0.1", [1, 2, 3, 4]));
  });

  it("a rolling restart moves each address to its worker's replacement, and no other address", () => {
    const slots = new AddressSlots(2);
    const before = mapping(slots, [1, 2]);
    // the replacement of 1 listens while 1 still serves: it waits for a slot
    expect(mapping(slots, [1, 2, 3])).toEqual(before);
    // 1 retires: 3 takes its slot
    expect(mapping(slots, [2, 3])).toEqual(before.map((w) => (w === 1 ? 3 : w)));
    mapping(slots, [2, 3, 4]);
    expect(mapping(slots, [3, 4])).toEqual(before.map((w) => (w === 1 ? 3 : 4)));
  });

  it("a dead worker's addresses go to another worker until its replacement takes the slot", () => {
    const slots = new AddressSlots(3);
    const before = mapping(slots, [1, 2, 3]);
    const during = mapping(slots, [1, 3]);
    ADDRESSES.forEach((_, i) => {
      if (before[i] !== 2) expect(during[i]).toBe(before[i]);
      else expect([1, 3]).toContain(during[i]);
    });
    expect(mapping(slots, [1, 3, 4])).toEqual(before.map((w) => (w === 2 ? 4 : w)));
  });

  it("answers undefined with no worker ready", () => {
    expect(new AddressSlots(2).pick("10.0.0.1", [])).toBeUndefined();
  });
});
