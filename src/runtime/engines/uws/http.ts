import type { TemplatedApp } from "uWebSockets.js";
import type { HttpRoutes } from "../../http/routes";
import { guardResponse, wantsClose } from "./response-guard";

const REASONS: Record<number, string> = {
  200: "OK",
  304: "Not Modified",
  404: "Not Found",
  405: "Method Not Allowed",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** Serves the runtime's HTTP routes on a uWS app, for every path no other route took. */
export function mountHttpRoutes(app: TemplatedApp, routes: HttpRoutes, draining: () => boolean): void {
  app.any("/*", (res, req) => {
    const closeAsked = wantsClose(req.getHeader("connection"));
    const guarded = guardResponse(res, () => closeAsked || draining());
    const method = req.getCaseSensitiveMethod().toUpperCase();
    const query = req.getQuery();
    const url = query ? `${req.getUrl()}?${query}` : req.getUrl();
    routes
      .handle(method, url, req.getHeader("if-none-match"))
      .catch(() => ({ status: 500, headers: {}, body: "internal error\n" }))
      .then((answer) => {
        if (guarded.aborted) return;
        guarded.cork(() => {
          guarded.writeStatus(`${answer.status} ${REASONS[answer.status] ?? ""}`);
          for (const [key, value] of Object.entries(answer.headers)) guarded.writeHeader(key, value);
          if (method === "HEAD") guarded.endWithoutBody(Buffer.byteLength(answer.body));
          else guarded.end(answer.body);
        });
      });
  });
}
