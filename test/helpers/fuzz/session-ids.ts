import { randomBytes } from "node:crypto";
import type { Family, FuzzContext } from "./family";
import { httpRequest, sendRaw } from "./net";
import { ENGINE_PATH } from "./polling-target";
import type { Random } from "./random";

const random20 = () => randomBytes(15).toString("base64url");

/** An invalid or forged session id (see src/runtime/engines/session-id.ts: `<worker id base 36>.<random>`). */
export function forgedSessionId(rng: Random, workerIds: number[]): string {
  switch (rng.int(0, 9)) {
    case 0:
      return random20(); // no owner prefix
    case 1:
      return `${rng.pick(workerIds).toString(36)}.${random20()}`; // a live worker's prefix, unknown session
    case 2:
      return `${(Math.max(...workerIds) + rng.int(1, 500)).toString(36)}.${random20()}`; // a worker that does not exist
    case 3:
      return `0.${random20()}`; // worker 0 (ids start at 1)
    case 4:
      return `${rng.pick(["zzzzzzzz", "zzzzzzzzz", "-1", "1e9", "Z", "%2e", "..", " 1"])}.${random20()}`; // prefixes out of range or not base 36
    case 5:
      return rng.pick(["", ".", "..", "1.", ".x", "1..", "1.%00", "%", "%zz", "1.\u00e9"]); // degenerate
    case 6:
      return `${rng.pick(workerIds).toString(36)}.${"A".repeat(rng.int(100, 4000))}`; // very long
    case 7:
      return `${rng.pick(workerIds).toString(36)}.${random20()}&sid=${random20()}`; // repeated parameter
    case 8:
      return encodeURIComponent(`${rng.pick(workerIds).toString(36)}.${random20()}\r\nx: y`); // header injection attempt
    default:
      return `__proto__`; // a key every plain object has
  }
}

const websocketUpgrade = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

/** Polling requests and WebSocket upgrades that name sessions which are not theirs or do not exist. */
export const sessionIdFamily: Family = {
  name: "session ids",
  async step(ctx: FuzzContext) {
    const sid = forgedSessionId(ctx.rng, ctx.workerIds);
    const query = (transport: string) => `${ENGINE_PATH}?EIO=4&transport=${transport}&sid=${sid.includes("%") ? sid : encodeURIComponent(sid)}`;
    const kind = ctx.rng.int(0, 3);
    if (kind === 0) {
      ctx.note(await httpRequest(ctx.port, { method: "GET", path: query("polling") }));
    } else if (kind === 1) {
      ctx.note(await httpRequest(ctx.port, { method: "POST", path: query("polling"), headers: { "content-type": "text/plain" }, body: "42[\"echo\",1]" }));
    } else if (kind === 2) {
      // a WebSocket for a session that does not exist: refused (400, or accepted and closed at once)
      ctx.note(await sendRaw(ctx.port, websocketUpgrade(query("websocket")), { waitMs: 3000 }));
    } else {
      // the `sid` of a WebSocket upgrade on the polling transport, and a polling GET with transport=websocket
      ctx.note(await httpRequest(ctx.port, { method: "GET", path: query(ctx.rng.pick(["websocket", "webtransport", "polling&transport=websocket"])) }));
    }
    return 1;
  },
};
