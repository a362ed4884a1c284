import http from "node:http";
import type { Logger } from "../../../log/logger";
import type { HttpRoutes } from "../../http/routes";

/** Answers a request of Node's http server with `routes` (the Node engine's workers, the admin listener). */
export function serveWithNode(routes: HttpRoutes, req: http.IncomingMessage, res: http.ServerResponse): void {
  const method = req.method ?? "GET";
  routes
    .handle(method, req.url ?? "/", String(req.headers["if-none-match"] ?? ""))
    .catch(() => ({ status: 500, headers: {}, body: "internal error\n" }))
    .then((answer) => {
      res.writeHead(answer.status, answer.headers);
      res.end(method === "HEAD" ? undefined : answer.body);
    });
}

/**
 * The primary's admin listener: a plain Node http server answering `routes` on `host:port`
 * whatever engine serves the clients. A port it cannot take is logged, never fatal: monitoring is
 * not worth an outage. It does not keep the primary alive.
 */
export function listenAdmin(routes: HttpRoutes, host: string, port: number, log: Logger): http.Server {
  const server = http.createServer((req, res) => serveWithNode(routes, req, res));
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.on("error", (err) => {
    log.error({ event: "admin-listen-failed", host, port }, `cannot listen on the admin port ${host}:${port}: ${err.message}`);
  });
  server.listen(port, host, () => {
    log.info({ event: "admin-listen", host, port }, "admin listener: /metrics, /stats");
  });
  server.unref();
  return server;
}
