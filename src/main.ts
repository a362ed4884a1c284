import cluster from "node:cluster";
import { ConfigError, loadConfig, type Config } from "./config/env";
import { applicationProblem } from "./app/registry";
import { tlsProblem } from "./config/tls-check";
import { runPrimary } from "./runtime/primary";
import { runWorker } from "./runtime/worker";

function configOrExit(): Config {
  try {
    const config = loadConfig();
    const problem = cluster.isPrimary ? (tlsProblem(config) ?? applicationProblem(config)) : undefined;
    if (problem) throw new ConfigError(problem);
    return config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}

const config = configOrExit();
const run = cluster.isPrimary ? runPrimary : runWorker;
run(config).catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
