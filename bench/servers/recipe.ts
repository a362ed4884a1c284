/**
 * The canonical recipe from the Socket.IO documentation ("Using Node.js Cluster"): Node http,
 * `@socket.io/sticky` in the primary (least-connection), `@socket.io/cluster-adapter` between
 * the workers. Only the bench's plumbing is added: the echo events, `/healthz` and `/`, a ready
 * line with the PIDs, and SIGTERM handling.
 */
import { createAdapter, setupPrimary } from "@socket.io/cluster-adapter";
import { setupMaster, setupWorker } from "@socket.io/sticky";
import cluster from "node:cluster";
import http from "node:http";
import { Server } from "socket.io";
import { echoApp } from "./echo-app";
import { announce, createRoutes } from "./http-routes";

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? "127.0.0.1";
const workers = Number(process.env.WORKERS ?? 2);

if (cluster.isPrimary) {
  const httpServer = http.createServer();
  setupMaster(httpServer, { loadBalancingMethod: "least-connection" });
  setupPrimary();
  cluster.setupPrimary({ serialization: "advanced" });
  httpServer.listen(port, host);
  for (let i = 0; i < workers; i++) cluster.fork();

  let ready = 0;
  cluster.on("message", (_worker, message: { type?: string }) => {
    if (message?.type === "bench:ready" && ++ready === workers) {
      announce(port, [process.pid, ...Object.values(cluster.workers ?? {}).map((w) => w!.process.pid!)]);
    }
  });
  process.on("SIGTERM", () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
    httpServer.close();
    setTimeout(() => process.exit(0), 200).unref();
  });
} else {
  const httpServer = http.createServer();
  const routes = createRoutes(process.env.PUBLIC_DIR ?? "public");
  httpServer.on("request", (req, res) => void routes(req, res));
  const io = new Server(httpServer, { adapter: createAdapter() });
  setupWorker(io);
  echoApp(io, `worker-${cluster.worker!.id}`);
  process.send!({ type: "bench:ready" });
  process.on("SIGTERM", () => process.exit(0));
}
