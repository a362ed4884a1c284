import { startBaseline } from "./baseline";
import type { SystemSpec } from "./types";

export const single: SystemSpec = {
  name: "single",
  label: "single process",
  description: "plain single-process Socket.IO on Node http, one core (bench/servers/single.ts)",
  supports: { polling: true, multiWorker: false },
  start: (context) => startBaseline("single", context, 1),
};
