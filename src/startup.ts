import { ConfigError, loadConfig, type Config } from "./config/env";
import { applicationProblem } from "./app/registry";
import { tlsProblem } from "./config/tls-check";

/**
 * The primary's configuration, or exit 1 with its one-line message (`invalid configuration:
 * NAME="value" (allowed: …)`) on stderr. What it needs before forking is checked too: the TLS
 * files and the application. (Workers take it from their plan: `src/config/plan.ts`.)
 */
export function configOrExit(): Config {
  try {
    const config = loadConfig();
    const problem = tlsProblem(config) ?? applicationProblem(config);
    if (problem) throw new ConfigError(problem);
    return config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
