import { describe, expect, it } from "vitest";
import { StreamCatchUp } from "./catch-up";
import { compareIds } from "./stream-reader";

const all = { rooms: [], except: [] };

describe("stream entry ids", () => {
  it("order numerically, milliseconds first", () => {
    expect(compareIds("9-0", "10-0")).toBeLessThan(0);
    expect(compareIds("10-2", "10-10")).toBeLessThan(0);
    expect(compareIds("1795316109113-5", "1795316109113-5")).toBe(0);
    expect(compareIds("1795316109114-0", "1795316109113-99")).toBeGreaterThan(0);
  });
});

describe("a session restored while broadcasts go on: every entry once, in order", () => {
  it("adds what was delivered here after the stream read, drops what the read already had", () => {
    const catchUp = new StreamCatchUp();
    catchUp.begin("s1", ["s1"]);
    // delivered on this worker while the stream is read: 1-3 (also in the read), then 1-5
    expect(catchUp.delivering("1-3", [3, "1-3"], all)).toEqual([]);
    expect(catchUp.delivering("1-5", [5, "1-5"], all)).toEqual([]);
    const missed = catchUp.read("s1", [[2, "1-2"], [3, "1-3"]], "1-4");
    expect(missed).toEqual([[2, "1-2"], [3, "1-3"], [5, "1-5"]]);
    // delivered before the socket is registered: kept for it
    catchUp.delivering("1-6", [6, "1-6"], all);
    expect(catchUp.connected("s1")).toEqual([[6, "1-6"]]);
    // the poller, behind, delivers 1-5 again: excluded; 1-7 is new: not excluded
    expect(catchUp.delivering("1-5", [5, "1-5"], all)).toEqual(["s1"]);
    catchUp.pollerAt("1-5");
    expect(catchUp.delivering("1-6", [6, "1-6"], all)).toEqual(["s1"]);
    catchUp.pollerAt("1-6");
    expect(catchUp.delivering("1-7", [7, "1-7"], all)).toEqual([]);
  });

  it("keeps only the broadcasts that reach the session's rooms", () => {
    const catchUp = new StreamCatchUp();
    catchUp.begin("s2", ["s2", "blue"]);
    catchUp.delivering("2-1", ["blue"], { rooms: ["blue"], except: [] });
    catchUp.delivering("2-2", ["red"], { rooms: ["red"], except: [] });
    catchUp.delivering("2-3", ["others"], { rooms: [], except: ["s2"] });
    expect(catchUp.read("s2", [], "2-0")).toEqual([["blue"]]);
  });

  it("a socket that connects once the poller is past its read is not watched", () => {
    const catchUp = new StreamCatchUp();
    catchUp.pollerAt("3-9");
    catchUp.begin("s3", ["s3"]);
    catchUp.read("s3", [], "3-8");
    expect(catchUp.connected("s3")).toEqual([]);
    expect(catchUp.delivering("3-8", [8], all)).toEqual([]);
  });

  it("an abandoned restore keeps nothing", () => {
    const catchUp = new StreamCatchUp();
    catchUp.begin("s4", ["s4"]);
    catchUp.abandon("s4");
    catchUp.delivering("4-1", [1], all);
    expect(catchUp.connected("s4")).toEqual([]);
  });
});
