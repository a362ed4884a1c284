import { startBaseline } from "./baseline";
import type { SystemSpec } from "./types";

export const raw: SystemSpec = {
  name: "raw",
  label: "raw uWS",
  description: "raw uWebSockets.js pub/sub, no Socket.IO, same workers, broadcasts relayed by the primary (bench/servers/raw-uws.ts)",
  supports: { polling: false, multiWorker: true },
  start: (context) => startBaseline("rawUws", context, context.workers),
};
