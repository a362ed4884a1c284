import type { Family, FuzzContext } from "./family";
import type { Random } from "./random";

const SEP = "\x1e";

/** A broken Engine.IO packet (text). */
export function brokenEnginePacket(rng: Random): string {
  switch (rng.int(0, 11)) {
    case 0:
      return ""; // empty packet
    case 1:
      return String(rng.int(7, 9)) + rng.string(rng.int(0, 20)); // type digit out of range
    case 2:
      return rng.pick(["x", "-", " ", "\0", "é", "\ud83d\ude00", "b", "4\0"]) + rng.string(rng.int(0, 10)); // not a type digit
    case 3:
      return rng.pick(["0", "1", "2", "3", "5", "6"]) + rng.string(rng.int(0, 30)); // control packets the client may not send
    case 4:
      return "b" + rng.string(rng.int(1, 40), "!@#$%^&*()=\u00ff~ "); // base64 with invalid characters
    case 5:
      return "b" + "=".repeat(rng.int(1, 8)); // padding only
    case 6:
      return "b" + Buffer.from(rng.string(rng.int(1, 30))).toString("base64").slice(0, -rng.int(1, 3)); // truncated base64
    case 7:
      return "b"; // empty binary
    case 8:
      return SEP.repeat(rng.int(1, 5)); // only separators
    case 9:
      return ["4", "", "9", "b###"].slice(0, rng.int(1, 4)).join(SEP); // a payload with empty and bad packets
    case 10:
      return "4" + "\ud800"; // lone surrogate
    default:
      return rng.pick(["2probe", "3probe", "5", "6", "1", "0{}", "4"]) + SEP + rng.string(5);
  }
}

/** Broken Engine.IO packets over polling (POST bodies) and WebSocket (text and binary frames). */
export const engineIoFamily: Family = {
  name: "engine.io packets",
  async step(ctx: FuzzContext) {
    const packet = brokenEnginePacket(ctx.rng);
    if (ctx.rng.chance(0.5)) {
      ctx.note(await ctx.polling.send(packet));
    } else if (ctx.rng.chance(0.8)) {
      ctx.note(await ctx.ws.send(packet.replaceAll(SEP, ctx.rng.chance(0.5) ? SEP : "")));
    } else {
      ctx.note(await ctx.ws.send(ctx.rng.bytes(ctx.rng.int(0, 64)), true)); // binary frame outside any packet
    }
    return 1;
  },
};
