import createDebug from "debug";
import type http from "node:http";
import type net from "node:net";
import { CONNECTION_MESSAGE, type RoutedConnection } from "./routed-connection";

const debug = createDebug("runtime:node:worker");

/**
 * Takes the connections the primary hands to this worker and serves them with `httpServer`,
 * starting with the bytes the primary already read. Returns a function that stops it.
 */
export function acceptRoutedConnections(httpServer: http.Server): () => void {
  startConnectionChecks(httpServer);
  const onMessage = (message: unknown, handle: unknown) => {
    if ((message as RoutedConnection | undefined)?.type !== CONNECTION_MESSAGE) return;
    const socket = handle as net.Socket | undefined;
    if (!socket) return;
    const head = Buffer.from((message as RoutedConnection).head, "base64");
    debug("connection with %d bytes", head.length);
    httpServer.emit("connection", socket);
    if (head.length > 0) socket.unshift(head);
    socket.resume();
  };
  process.on("message", onMessage);
  return () => process.off("message", onMessage);
}

/**
 * Node enforces `headersTimeout` and `requestTimeout` only on the connections of a server that
 * emitted `listening`; this one never listens (the primary owns the port), so without this a
 * client dribbling its headers or body byte by byte would keep its connection forever.
 */
function startConnectionChecks(httpServer: http.Server): void {
  const setup = httpServer.listeners("listening").find((listener) => listener.name === "setupConnectionsTracking");
  if (setup) setup.call(httpServer);
  else debug("this Node version does not track connections: headersTimeout and requestTimeout do not apply");
}
