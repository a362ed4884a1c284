import type { Family, FuzzContext } from "./family";
import type { Random } from "./random";

const placeholder = (num: unknown) => JSON.stringify({ _placeholder: true, num });

/** A broken Socket.IO packet (the part after the Engine.IO `4` message type). */
export function brokenSocketIoPacket(rng: Random): string {
  switch (rng.int(0, 16)) {
    case 0:
      return String(rng.int(7, 9)) + "[\"echo\",1]"; // packet type out of range
    case 1:
      return rng.pick(["", "x", "-", "/", "[", "{"]) + rng.string(rng.int(0, 8)); // no type
    case 2:
      return "0/" + rng.string(rng.int(1, 300), "abcdef/%$ \u00e9,") + ","; // unknown or odd namespace
    case 3:
      return "0" + rng.pick(["/admin,", "nonamespace", "/,", "//,", "/a,{", "/" + "x".repeat(5000) + ","]); // bad namespace syntax
    case 4:
      return "2" + rng.pick(["[", "{", "[\"echo\"", "[\"echo\",}", "[]", "[1]", "[null]", "{\"a\":1}", "\"echo\"", "[\"connect\"]", "[\"disconnect\"]", "[\"" + "a".repeat(2000) + "\"]"]); // bad JSON / event
    case 5:
      return "2" + rng.pick(["99999999999999999999", "-1", "1.5", "0x10", "1e3", "  3", "NaN"]) + "[\"echo\",1]"; // bad ack ids
    case 6:
      return "3" + rng.pick(["", "1", "abc", "99999999999999999999", "-5"]) + rng.pick(["[1]", "[", "{}", ""]); // acks nobody asked for
    case 7:
      return "5" + rng.int(1, 9) + "-[\"echo\"," + placeholder(rng.int(0, 9)) + "]"; // attachment count that lies
    case 8:
      return "5" + rng.pick(["1e99", "451e99", "99999999999", "-1", "0", "NaN", "Infinity", "1.5", ""]) + "-[\"echo\"," + placeholder(0) + "]"; // huge or invalid attachment counts
    case 9:
      return "51-[\"echo\"," + placeholder(rng.pick([-1, 99, "0", null, 1.5, 1e99])) + "]"; // placeholders that point nowhere
    case 10:
      return "6" + rng.int(0, 9) + "-" + rng.int(0, 99) + "[" + placeholder(0) + "]"; // binary ack that lies
    case 11:
      return "1" + rng.pick(["", "/", "/nope,", "garbage"]); // disconnects from odd namespaces
    case 12:
      return "4" + rng.pick(["", "{}", "[]", "\"x\""]); // CONNECT_ERROR from a client
    case 13:
      return "2[\"echo\"," + "[".repeat(rng.int(100, 3000)) + "]"; // deep nesting
    case 14:
      return "2[\"shout\",{\"to\":{\"room\":" + rng.pick(["null", "1", "[]", "{}", "\"\""]) + "},\"payload\":1}]"; // handler-level garbage
    case 15:
      return rng.pick(["2", "3", "5", "6", "21", "2/", "2/nope,", "31", "51-", "5-", "61-1"]); // packets without data
    default:
      return "2[\"join\"," + rng.pick(["null", "1", "{}", "\"" + "r".repeat(100) + "\""]) + "]";
  }
}

/** Broken Socket.IO packets in Engine.IO messages, over polling and WebSocket. */
export const socketIoFamily: Family = {
  name: "socket.io packets",
  async step(ctx: FuzzContext) {
    const packet = "4" + brokenSocketIoPacket(ctx.rng);
    const lies = /^45|^46/.test(packet);
    if (ctx.rng.chance(0.4)) {
      // over polling, attachments travel as base64 `b` packets after the packet that announces them
      const attachments = lies ? Array.from({ length: ctx.rng.int(0, 3) }, () => "b" + ctx.rng.bytes(4).toString("base64")) : [];
      ctx.note(await ctx.polling.send([packet, ...attachments].join("\x1e")));
    } else if (lies && ctx.rng.chance(0.5)) {
      const attachments = Array.from({ length: ctx.rng.int(1, 3) }, () => ({ data: ctx.rng.bytes(8), binary: true }));
      ctx.note(await ctx.ws.sendAll([{ data: packet }, ...attachments]));
    } else {
      ctx.note(await ctx.ws.send(packet));
    }
    return 1;
  },
};
