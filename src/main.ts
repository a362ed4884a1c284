import cluster from "node:cluster";
import { runPrimary } from "./runtime/primary";
import { runWorker } from "./runtime/worker";
import { configOrExit } from "./startup";

const config = configOrExit(cluster.isPrimary);
const run = cluster.isPrimary ? runPrimary : runWorker;
run(config).catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
