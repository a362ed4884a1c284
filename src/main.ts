import cluster from "node:cluster";

/*
 * The primary reads and checks the configuration and forks the workers; a worker takes the
 * primary's configuration from its plan (`src/config/plan.ts`). Each process loads only its own
 * half: a worker loads neither the primary's modules nor the settings' schemas.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
function run(): Promise<void> {
  if (cluster.isPrimary) {
    const { configOrExit } = require("./startup") as typeof import("./startup");
    const { runPrimary } = require("./runtime/primary") as typeof import("./runtime/primary");
    return runPrimary(configOrExit());
  }
  const { runWorker } = require("./runtime/worker") as typeof import("./runtime/worker");
  return runWorker();
}
/* eslint-enable @typescript-eslint/no-require-imports */

run().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
