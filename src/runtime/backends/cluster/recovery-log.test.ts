import { afterEach, describe, expect, it, vi } from "vitest";
import { AnswerLater } from "../../ipc/messages";
import type { WireOptions } from "../rooms";
import { DeliveryPosition, encodeOffset, parseOffset } from "./offsets";
import { RecoveryLog, type ClusterRestoredSession } from "./recovery-log";

const ALL: WireOptions = { rooms: [], except: [] };
const ROOM: WireOptions = { rooms: ["r"], except: [] };

/** A log with workers 1 and 2 (origins 1 and 2), recording what it forwards and ends. */
function logOfTwo() {
  const forwarded: Array<{ origin: number; seq: number; to: string }> = [];
  const ended: Array<[number, number]> = [];
  const connected = new Set([1, 2]);
  const log = new RecoveryLog({
    maxDisconnectionDuration: 60_000,
    maxPackets: 100,
    workerConnected: (id) => connected.has(id),
    forward: (_nsp, _packet, _opts, origin, seq, from) => forwarded.push({ origin, seq, to: `all but ${from}` }),
    ended: (origin, final) => ended.push([origin, final]),
    evict: () => undefined,
  });
  const one = log.join(1);
  const two = log.join(2);
  const say = (worker: number, seq: number, text: string, opts = ALL) => log.broadcast(worker, "/", { type: 2, data: ["m", text], nsp: "/" }, opts, seq);
  return { log, one, two, forwarded, ended, connected, say };
}

const restored = (answer: ReturnType<RecoveryLog["restore"]> | AnswerLater<ClusterRestoredSession | null>) => answer as ClusterRestoredSession;

afterEach(() => {
  vi.useRealTimers();
});

describe("recovery offsets", () => {
  it("write a position per origin and read it back", () => {
    const offset = encodeOffset({ boot: "b00t", low: 3, seqs: [0, 35, 36] });
    expect(offset).toBe("b00t.3.0,z,10");
    expect(parseOffset(offset)).toEqual({ boot: "b00t", low: 3, seqs: [0, 35, 36] });
    expect(parseOffset("b00t.1.")).toEqual({ boot: "b00t", low: 1, seqs: [] });
    for (const bad of ["", "b00t.1a", "b00t.0.1", "b00t.1.x,-1", "b00t.1.1.2", ".1.1"]) expect(parseOffset(bad), bad).toBeNull();
  });

  it("a worker's position: its own broadcasts, forwarded ones in order, ended origins folded below `low`", () => {
    const position = new DeliveryPosition({ boot: "b", low: 1, seqs: [4, 0] }, 3);
    expect(position.offset()).toBe("b.1.4,0");
    expect(position.next()).toBe(1);
    expect(position.offset()).toBe("b.1.4,0"); // numbered, not delivered yet
    position.delivered(3, 1);
    expect(position.offset()).toBe("b.1.4,0,1");
    expect(position.accepts(1, 5)).toBe(true);
    position.delivered(1, 5);
    expect(position.accepts(1, 5)).toBe(false); // a repeat
    // origin 2 ends first: listed until origin 1 ends too
    position.originEnded(2, 0);
    expect(position.offset()).toBe("b.1.5,0,1");
    expect(position.accepts(2, 1)).toBe(false);
    position.originEnded(1, 5);
    expect(position.offset()).toBe("b.3.1");
    expect(position.at(1)).toBeUndefined();
    expect(position.accepts(1, 6)).toBe(false);
  });
});

describe("RecoveryLog: per-origin logging and restores", () => {
  it("forwards each broadcast to every worker but its own, and gives a restored client what it missed of every origin, once", () => {
    const { log, one, two, forwarded, say } = logOfTwo();
    expect(one.origin).toBe(1);
    expect(two.origin).toBe(2);
    expect(parseOffset(two.offset)).toMatchObject({ low: 1, seqs: [0, 0] });
    say(1, 1, "a");
    say(2, 1, "b");
    say(1, 2, "c", ROOM);
    say(1, 3, "d");
    expect(forwarded).toEqual([
      { origin: 1, seq: 1, to: "all but 1" },
      { origin: 2, seq: 1, to: "all but 2" },
      { origin: 1, seq: 2, to: "all but 1" },
      { origin: 1, seq: 3, to: "all but 1" },
    ]);
    const boot = parseOffset(one.offset)!.boot;
    // a client of worker 2 that had origin 1's first and its own worker's first, then dropped
    log.connected(2, "/", { sid: "s1", pid: "p1", rooms: ["s1"] }, `${boot}.1.0,0`);
    log.disconnected(2, "/", { sid: "s1", pid: "p1", rooms: ["s1"], data: {} });
    const answer = restored(log.restore("/", "p1", `${boot}.1.1,1`, 1));
    expect(answer.base).toEqual({ boot, low: 1, seqs: [1, 1] });
    // "c" went to a room it is not in
    expect(answer.missed.map(([origin, seq, data]) => [origin, seq, data[1]])).toEqual([[1, 3, "d"]]);
    expect(answer.sid).toBe("s1");
  });

  it("restores a client that never got a broadcast from where its session began", () => {
    const { log, one, say } = logOfTwo();
    const boot = parseOffset(one.offset)!.boot;
    say(1, 1, "before");
    log.connected(1, "/", { sid: "s", pid: "p", rooms: ["s"] }, `${boot}.1.1,0`);
    say(2, 1, "after");
    log.disconnected(1, "/", { sid: "s", pid: "p", rooms: ["s"], data: {} });
    const answer = restored(log.restore("/", "p", "", 2));
    expect(answer.missed.map(([, , data]) => data[1])).toEqual(["after"]);
  });

  it("waits for broadcasts a client has that the log has not read yet, and refuses after 2 s", () => {
    vi.useFakeTimers();
    const { log, one, say } = logOfTwo();
    const boot = parseOffset(one.offset)!.boot;
    log.connected(1, "/", { sid: "s", pid: "p", rooms: ["s"] }, `${boot}.1.0,0`);
    log.disconnected(1, "/", { sid: "s", pid: "p", rooms: ["s"], data: {} });
    // the client got worker 1's broadcasts 1 and 2; the log has read only the first
    say(1, 1, "one");
    const answer = log.restoreWhenReady("/", "p", `${boot}.1.2,0`, 2);
    expect(answer).toBeInstanceOf(AnswerLater);
    const answers: Array<ClusterRestoredSession | null> = [];
    (answer as AnswerLater<ClusterRestoredSession | null>).start((value) => answers.push(value));
    say(2, 1, "other");
    expect(answers).toEqual([]);
    say(1, 2, "two");
    say(1, 3, "three");
    expect(answers).toHaveLength(1);
    expect(answers[0]!.base.seqs).toEqual([2, 0]);
    expect(answers[0]!.missed.map(([, , data]) => data[1])).toEqual(["other"]);

    // a second client ahead by a broadcast that never comes: not restored
    log.connected(1, "/", { sid: "t", pid: "q", rooms: ["t"] }, `${boot}.1.3,1`);
    log.disconnected(1, "/", { sid: "t", pid: "q", rooms: ["t"], data: {} });
    const late: Array<ClusterRestoredSession | null> = [];
    (log.restoreWhenReady("/", "q", `${boot}.1.9,1`, 2) as AnswerLater<ClusterRestoredSession | null>).start((value) => late.push(value));
    vi.advanceTimersByTime(2001);
    expect(late).toEqual([null]);
  });

  it("ends a dead worker's origin where the log stands, ignores what it sends later, and reads offsets that fold it", () => {
    const { log, one, ended, connected, say } = logOfTwo();
    const boot = parseOffset(one.offset)!.boot;
    say(1, 1, "x");
    log.connected(2, "/", { sid: "s", pid: "p", rooms: ["s"] }, `${boot}.1.0,0`);
    connected.delete(1);
    log.workerDied(1);
    expect(ended).toEqual([[1, 1]]);
    say(1, 2, "too late"); // read after its end: not logged
    const three = log.join(3);
    expect(parseOffset(three.offset)).toMatchObject({ low: 2, seqs: [0, 0] });
    say(3, 1, "y");
    log.disconnected(2, "/", { sid: "s", pid: "p", rooms: ["s"], data: {} });
    // a client whose worker folded origin 1 (low 2): it had all of origin 1
    const answer = restored(log.restore("/", "p", `${boot}.2.0,0`, 3));
    expect(answer.base).toEqual({ boot, low: 2, seqs: [0, 0] });
    expect(answer.missed.map(([, , data]) => data[1])).toEqual(["y"]);
  });

  it("refuses offsets of another life, of unknown origins, and older than what it still keeps", () => {
    const forwarded: number[] = [];
    const log = new RecoveryLog({
      maxDisconnectionDuration: 60_000,
      maxPackets: 2,
      workerConnected: () => true,
      forward: (_n, _p, _o, _origin, seq) => forwarded.push(seq),
      ended: () => undefined,
      evict: () => undefined,
    });
    const { offset } = log.join(1);
    const boot = parseOffset(offset)!.boot;
    for (let seq = 1; seq <= 3; seq++) log.broadcast(1, "/", { type: 2, data: ["m", seq], nsp: "/" }, ALL, seq);
    const session = (pid: string) => {
      log.connected(1, "/", { sid: pid, pid, rooms: [pid] }, `${boot}.1.0`);
      log.disconnected(1, "/", { sid: pid, pid, rooms: [pid], data: {} });
    };
    session("a");
    expect(log.restore("/", "a", `0ther.1.3`, 1)).toBeNull();
    session("b");
    expect(log.restore("/", "b", `${boot}.1.3,0`, 1)).toBeNull(); // origin 2 does not exist
    session("c");
    expect(log.restore("/", "c", `${boot}.1.0`, 1)).toBeNull(); // broadcast 1 is no longer kept
    session("d");
    expect(restored(log.restore("/", "d", `${boot}.1.1`, 1)).missed.map(([, seq]) => seq)).toEqual([2, 3]);
  });
});
