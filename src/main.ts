import cluster from "node:cluster";

/*
 * The primary reads and checks the configuration and forks the workers; a worker takes the
 * primary's configuration from its plan (`src/config/plan.ts`). Each loads only its own half:
 * a worker does not load the primary's modules nor the settings' schemas.
 */
const running: Promise<void> = cluster.isPrimary
  ? // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require("./runtime/primary") as typeof import("./runtime/primary")).runPrimary(
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      (require("./startup") as typeof import("./startup")).configOrExit(),
    )
  : // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require("./runtime/worker") as typeof import("./runtime/worker")).runWorker();
running.catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
