import { describe, expect, it } from "vitest";
import { envelopesOf, type Batch, type Envelope } from "./messages";
import { Outbox } from "./outbox";

const notice = (n: number): Envelope => ({ rt: "notice", type: "recovery:deliver", body: { n } });
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("Outbox: the primary's messages to one worker, one write per event-loop turn", () => {
  it("writes what a turn queued in one batch, in order, and the receiver gets them in that order", async () => {
    const written: Array<Envelope | Batch> = [];
    const outbox = new Outbox((message) => written.push(message));
    for (let n = 0; n < 5; n++) outbox.push(notice(n));
    expect(written).toEqual([]);
    await nextTurn();
    expect(written).toHaveLength(1);
    expect(envelopesOf(written[0])).toEqual([0, 1, 2, 3, 4].map(notice));
  });

  it("writes a lone message as it is, and the next turn's messages in a write of their own", async () => {
    const written: Array<Envelope | Batch> = [];
    const outbox = new Outbox((message) => written.push(message));
    outbox.push(notice(1));
    await nextTurn();
    outbox.push(notice(2));
    outbox.push(notice(3));
    await nextTurn();
    expect(written[0]).toEqual(notice(1));
    expect(written.flatMap(envelopesOf)).toEqual([1, 2, 3].map(notice));
    expect(written).toHaveLength(2);
  });

  it("flush writes at once (before a message that carries a handle); clear drops what a gone worker would get", async () => {
    const written: Array<Envelope | Batch> = [];
    const outbox = new Outbox((message) => written.push(message));
    outbox.push(notice(1));
    outbox.flush();
    expect(written).toEqual([notice(1)]);
    outbox.push(notice(2));
    outbox.clear();
    await nextTurn();
    expect(written).toEqual([notice(1)]);
  });

  it("envelopesOf ignores what is not ours (the cluster adapter's messages, malformed batches)", () => {
    expect(envelopesOf({ type: 1, data: "x" })).toEqual([]);
    expect(envelopesOf({ rt: "batch", messages: "nope" })).toEqual([]);
    expect(envelopesOf({ rt: "batch", messages: [notice(1), { rt: "other" }] })).toEqual([notice(1)]);
    expect(envelopesOf(null)).toEqual([]);
  });
});
