import { startBaseline } from "./baseline";
import type { SystemSpec } from "./types";

export const recipe: SystemSpec = {
  name: "recipe",
  label: "recipe (sticky)",
  description: "the Socket.IO docs' cluster recipe: Node http + @socket.io/sticky (least-connection) + @socket.io/cluster-adapter (bench/servers/recipe.ts)",
  supports: { polling: true, multiWorker: true },
  start: (context) => startBaseline("recipe", context, context.workers),
};
