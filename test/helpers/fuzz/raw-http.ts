import { randomBytes } from "node:crypto";
import type { Family, FuzzContext } from "./family";
import { sendRaw } from "./net";
import type { Random } from "./random";

const PATHS = ["/socket.io/?EIO=4&transport=polling", "/healthz", "/", "/stats", "/socket.io/socket.io.js"];

/** A request that is not HTTP, or not quite. */
function garbageRequest(rng: Random): { bytes: Buffer | string; truncated?: boolean } {
  const path = rng.pick(PATHS);
  switch (rng.int(0, 13)) {
    case 0:
      return { bytes: rng.bytes(rng.int(1, 2000)) }; // random bytes
    case 1:
      return { bytes: `${rng.pick(["GET", "G ET", "", "\0GET", "GET\t"])} ${rng.pick([path, "", "*", "http://x/", "../../etc/passwd"])} ${rng.pick(["HTTP/1.1", "HTTP/9.9", "HTTP/1.1x", "", "HTTP/"])}\r\n\r\n` }; // bad request lines
    case 2:
      return { bytes: `GET ${path}\r\n\r\n` }; // HTTP/0.9
    case 3:
      return { bytes: `GET ${path} HTTP/1.1\r\nHost: x\r\n${"X-Big: " + "h".repeat(rng.int(8000, 40_000))}\r\n\r\n` }; // huge header
    case 4:
      return { bytes: `GET ${path} HTTP/1.1\r\n${Array.from({ length: rng.int(100, 600) }, (_, i) => `X-H${i}: v`).join("\r\n")}\r\n\r\n` }; // many headers
    case 5:
      return { bytes: `GET ${path} HTTP/1.1\r\nHost x\r\nNo-Colon\r\n: empty-name\r\n\r\n` }; // headers without colon or name
    case 6:
      return { bytes: `GET ${path} HTTP/1.1\r\nHost: x\r\nX-Nul: a\0b\r\n\r\n` }; // NUL in a header
    case 7:
      // bad chunked encoding: size not hex, missing CRLF, size too big, no terminating chunk
      return { bytes: `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${rng.pick(["zz\r\nabc\r\n0\r\n\r\n", "3\r\nabcdef\r\n", "ffffffffffffffff\r\nab", "5\r\nab", "-1\r\n\r\n", "3;ext=\0\r\nabc\r\n0\r\n\r\n"])}`, truncated: true };
    case 8:
      return { bytes: `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /x HTTP/1.1\r\n\r\n` }; // CL + TE (smuggling)
    case 9:
      return { bytes: `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${rng.pick(["-1", "abc", "1, 2", "99999999999999999999", " 3"])}\r\nContent-Length: 3\r\n\r\nabc` }; // invalid or duplicated Content-Length
    case 10: {
      const full = `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
      return { bytes: full.slice(0, rng.int(1, full.length - 2)), truncated: true }; // truncated head
    }
    case 11:
      // a WebSocket upgrade followed by garbage frames (bad opcodes, unmasked, reserved bits, huge lengths)
      return {
        bytes: Buffer.concat([
          Buffer.from(`GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`),
          rng.pick([Buffer.from([0x83, 0x80, 1, 2, 3, 4]), Buffer.from([0x81, 0x05, 0x34, 0x30]), Buffer.from([0xf1, 0x80, 0, 0, 0, 0]), Buffer.from([0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), rng.bytes(rng.int(1, 100))]),
        ]),
        truncated: true,
      };
    case 12:
      return { bytes: `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: ${rng.pick(["8", "99", ""])}\r\nSec-WebSocket-Key: ${rng.pick(["", "short", "!!!!"])}\r\n\r\n` }; // bad upgrade headers
    default:
      return { bytes: Array.from({ length: rng.int(2, 20) }, () => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`).join("") + rng.bytes(50).toString("latin1") }; // pipelined requests then garbage
  }
}

/** Garbage HTTP on raw TCP connections. */
export const rawHttpFamily: Family = {
  name: "raw http",
  async step(ctx: FuzzContext) {
    const { bytes, truncated } = garbageRequest(ctx.rng);
    // truncated input leaves the server waiting for more: the client hangs up after a short while
    ctx.note(await sendRaw(ctx.port, bytes, { waitMs: truncated ? ctx.rng.int(20, 400) : 600, endAfterWrite: ctx.rng.chance(0.2) }));
    return 1;
  },
};
