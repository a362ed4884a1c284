import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";

/**
 * `/healthz` and `/` (the project's public/index.html, read once) for the baseline Node
 * servers; Socket.IO itself serves `/socket.io/socket.io.js`. Returns `false` for other paths.
 */
export function createRoutes(publicDir: string): (req: IncomingMessage, res: ServerResponse) => boolean {
  const index = readFileSync(path.join(publicDir, "index.html"));
  return (req, res) => {
    const url = req.url ?? "/";
    if (url.startsWith("/socket.io/")) return false;
    if (url === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end("ok\n");
    } else if (url === "/" || url === "/index.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" }).end(index);
    } else {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
    }
    return true;
  };
}

/** The server's ready line on stdout, read by the harness: every PID of the server. */
export function announce(port: number, pids: number[]): void {
  process.stdout.write(`${JSON.stringify({ event: "listen", port, pids })}\n`);
}
