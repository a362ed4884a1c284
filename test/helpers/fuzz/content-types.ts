import type { Family, FuzzContext } from "./family";
import { httpRequest } from "./net";
import { ENGINE_PATH } from "./polling-target";

const CONTENT_TYPES = [
  "application/octet-stream",
  "application/json",
  "multipart/form-data; boundary=xyz",
  "application/x-www-form-urlencoded",
  "text/plain; charset=utf-16",
  "text/plain; charset=\u00ff",
  "",
  "image/png",
  "text/html",
  ";;;;",
];

/** Wrong content types, methods, protocol versions and transports on the Engine.IO path. */
export const contentTypeFamily: Family = {
  name: "content types",
  async step(ctx: FuzzContext) {
    const { rng } = ctx;
    switch (rng.int(0, 4)) {
      case 0: {
        // a valid or invalid body with a wrong content type, to a live session
        const body = rng.chance(0.5) ? "42[\"echo\",1]" : rng.bytes(rng.int(1, 200));
        ctx.note(await ctx.polling.send(body, { "content-type": rng.pick(CONTENT_TYPES) }));
        break;
      }
      case 1: {
        const method = rng.pick(["PUT", "DELETE", "PATCH", "PROPFIND", "TRACE", "CONNECT", "FOO", "get", "OPTIONS"]);
        ctx.note(await httpRequest(ctx.port, { method, path: `${ENGINE_PATH}?EIO=4&transport=polling`, body: rng.chance(0.5) ? "40" : undefined }));
        break;
      }
      case 2: {
        const eio = rng.pick(["3", "5", "0", "-1", "abc", "", "4.0", "99999999999999999999", "4&EIO=3"]);
        ctx.note(await httpRequest(ctx.port, { method: "GET", path: `${ENGINE_PATH}?EIO=${eio}&transport=polling` }));
        break;
      }
      case 3: {
        const transport = rng.pick(["flashsocket", "", "POLLING", "jsonp", "polling%00", "__proto__", "constructor"]);
        ctx.note(await httpRequest(ctx.port, { method: "GET", path: `${ENGINE_PATH}?EIO=4&transport=${transport}` }));
        break;
      }
      default: {
        // a handshake POST (no session) with a body, odd paths under the Engine.IO prefix
        const path = rng.pick([ENGINE_PATH, "/socket.io", "/socket.io//", "/socket.io/x", "/socket.io/?", "/socket.io/%2e%2e/", "/SOCKET.IO/"]);
        ctx.note(await httpRequest(ctx.port, { method: rng.pick(["GET", "POST"]), path: `${path}?EIO=4&transport=polling&j=${rng.int(0, 9)}`, headers: { "content-type": rng.pick(CONTENT_TYPES) }, body: "40" }));
      }
    }
    return 1;
  },
};
