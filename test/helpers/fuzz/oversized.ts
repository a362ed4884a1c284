import type { Family, FuzzContext } from "./family";
import { httpBytes, sendRaw } from "./net";
import { ENGINE_PATH } from "./polling-target";

/** Payloads over MAX_HTTP_BUFFER_SIZE, and bodies whose Content-Length lies. */
export const oversizedFamily: Family = {
  name: "oversized",
  async step(ctx: FuzzContext) {
    const { rng } = ctx;
    const over = ctx.maxHttpBufferSize + rng.int(1, 4 * ctx.maxHttpBufferSize);
    const message = () => "4" + "2[\"echo\",\"" + "x".repeat(over) + "\"]";
    switch (rng.int(0, 6)) {
      case 0:
        // one huge message to a live session (engine.io refuses it and closes the session)
        ctx.note(await ctx.polling.send(message()));
        break;
      case 1:
        // many small packets that together pass the limit
        ctx.note(await ctx.polling.send(Array.from({ length: Math.ceil(over / 50) }, () => "42[\"echo\",\"" + "y".repeat(40) + "\"]").join("\x1e")));
        break;
      case 2:
        // a huge WebSocket frame
        ctx.note(await ctx.ws.send(message()));
        break;
      case 3: {
        // a Content-Length over the limit, body never sent in full: the client hangs up
        const sid = await ctx.polling.session();
        const head = httpBytes({ method: "POST", path: `${ENGINE_PATH}?EIO=4&transport=polling&sid=${sid ?? "x"}`, headers: { "content-type": "text/plain", "content-length": String(over * 100) }, contentLength: false });
        ctx.note(await sendRaw(ctx.port, Buffer.concat([head, Buffer.from("42[\"echo\",\"")]), { waitMs: rng.int(20, 300) }));
        break;
      }
      case 4: {
        // a body bigger than its Content-Length: the rest is read as a next request (garbage)
        const body = message();
        const bytes = httpBytes({ method: "POST", path: `${ENGINE_PATH}?EIO=4&transport=polling&sid=${(await ctx.polling.session()) ?? "x"}`, headers: { "content-type": "text/plain", "content-length": String(rng.int(1, 50)) }, body, contentLength: false });
        ctx.note(await sendRaw(ctx.port, bytes, { waitMs: 3000 }));
        break;
      }
      case 5: {
        // chunked body over the limit
        const chunk = "x".repeat(4096);
        let body = "";
        for (let sent = 0; sent < over; sent += chunk.length) body += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
        const head = `POST ${ENGINE_PATH}?EIO=4&transport=polling&sid=${(await ctx.polling.session()) ?? "x"} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n`;
        ctx.note(await sendRaw(ctx.port, head + body + "0\r\n\r\n", { waitMs: 3000 }));
        break;
      }
      default:
        // a huge handshake query string
        ctx.note(await sendRaw(ctx.port, httpBytes({ method: "GET", path: `${ENGINE_PATH}?EIO=4&transport=polling&x=${"q".repeat(rng.int(4000, 20_000))}` }), { waitMs: 3000 }));
    }
    return 1;
  },
};
