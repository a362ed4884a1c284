/**
 * Plain single-process Socket.IO on Node's http server: what most applications start with.
 */
import http from "node:http";
import { Server } from "socket.io";
import { echoApp } from "./echo-app";
import { announce, createRoutes } from "./http-routes";

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? "127.0.0.1";

const httpServer = http.createServer();
const routes = createRoutes(process.env.PUBLIC_DIR ?? "public");
httpServer.on("request", (req, res) => void routes(req, res));
const io = new Server(httpServer);
echoApp(io, "single");
httpServer.listen(port, host, () => announce(port, [process.pid]));
process.on("SIGTERM", () => {
  httpServer.close();
  setTimeout(() => process.exit(0), 100).unref();
});
