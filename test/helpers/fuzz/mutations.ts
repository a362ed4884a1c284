import type { Family, FuzzContext } from "./family";
import { httpBytes, sendRaw } from "./net";
import { ENGINE_PATH } from "./polling-target";
import type { Random } from "./random";

/** Valid WebSocket frames of the echo application, as a client sends them (captured from socket.io-client). */
const VALID_FRAMES = [
  "40",
  "40{\"token\":\"abc\"}",
  "42[\"echo\",{\"i\":1,\"text\":\"hello\"}]",
  "4217[\"echo\",\"with ack\"]",
  "423[\"whoami\"]",
  "42[\"join\",\"fuzz-room\"]",
  "425[\"leave\",\"fuzz-room\"]",
  "42[\"shout\",{\"to\":{\"room\":\"fuzz-room\"},\"payload\":{\"n\":1}}]",
  "429[\"list\",\"fuzz-room\"]",
  "3",
  "451-[\"echo\",{\"_placeholder\":true,\"num\":0}]",
  "41",
];

/** Valid polling POST bodies (several packets separated by the record separator). */
const VALID_BODIES = [
  "42[\"echo\",1]",
  "42[\"echo\",1]\x1e4212[\"whoami\"]",
  "451-[\"echo\",{\"_placeholder\":true,\"num\":0}]\x1ebAQIDBA==",
  "3\x1e42[\"join\",\"fuzz-room\"]",
  "40/nope,\x1e42[\"echo\",\"a\"]",
];

/** One random mutation of `input`: bit flips, truncation, repetition, insertion, deletion, number swaps. */
export function mutate(rng: Random, input: Buffer): Buffer {
  const out = Buffer.from(input);
  if (out.length === 0) return rng.bytes(rng.int(1, 8));
  switch (rng.int(0, 6)) {
    case 0: {
      for (let n = rng.int(1, 8); n > 0; n--) {
        const at = rng.int(0, out.length - 1);
        out[at] = out[at]! ^ (1 << rng.int(0, 7));
      }
      return out;
    }
    case 1:
      return out.subarray(0, rng.int(0, out.length - 1));
    case 2: {
      const start = rng.int(0, out.length - 1);
      const slice = out.subarray(start, rng.int(start + 1, Math.min(out.length, start + 64)));
      const times = rng.int(2, 200);
      return Buffer.concat([out.subarray(0, start), ...Array.from({ length: times }, () => slice), out.subarray(start)]);
    }
    case 3: {
      const at = rng.int(0, out.length);
      return Buffer.concat([out.subarray(0, at), rng.bytes(rng.int(1, 16)), out.subarray(at)]);
    }
    case 4: {
      const at = rng.int(0, out.length - 1);
      return Buffer.concat([out.subarray(0, at), out.subarray(at + rng.int(1, 16))]);
    }
    case 5: {
      // replace a digit run with another number
      const text = out.toString("latin1");
      const replaced = text.replace(/\d+/, () => rng.pick(["-1", "0", "99999999999999999999", "1e99", "NaN", "", "007"]));
      return Buffer.from(replaced, "latin1");
    }
    default:
      return Buffer.concat([out, out]);
  }
}

/** Random mutations of valid captured packets and requests. */
export const mutationFamily: Family = {
  name: "mutations",
  async step(ctx: FuzzContext) {
    const { rng } = ctx;
    const kind = rng.int(0, 3);
    if (kind === 0) {
      const frame = mutate(rng, Buffer.from(rng.pick(VALID_FRAMES)));
      ctx.note(await ctx.ws.send(frame, rng.chance(0.2)));
    } else if (kind === 1) {
      ctx.note(await ctx.polling.send(mutate(rng, Buffer.from(rng.pick(VALID_BODIES)))));
    } else {
      // a whole valid request (handshake, or a POST to a live session), mutated anywhere
      const sid = kind === 2 ? undefined : await ctx.polling.session();
      const request = sid
        ? httpBytes({ method: "POST", path: `${ENGINE_PATH}?EIO=4&transport=polling&sid=${sid}`, headers: { "content-type": "text/plain;charset=UTF-8" }, body: rng.pick(VALID_BODIES) })
        : httpBytes({ method: "GET", path: `${ENGINE_PATH}?EIO=4&transport=polling&t=${rng.string(7)}`, headers: { accept: "*/*", "user-agent": "fuzz" } });
      ctx.note(await sendRaw(ctx.port, mutate(rng, request), { waitMs: 600 }));
    }
    return 1;
  },
};
