import { ConfigError, loadConfig, type Config } from "./config/env";
import { applicationProblem } from "./app/registry";
import { tlsProblem } from "./config/tls-check";

/**
 * The configuration, or exit 1 with its one-line message (`invalid configuration: NAME="value"
 * (allowed: …)`) on stderr. A primary also checks what it needs before forking: the TLS files and
 * the application.
 */
export function configOrExit(isPrimary: boolean): Config {
  try {
    const config = loadConfig();
    const problem = isPrimary ? (tlsProblem(config) ?? applicationProblem(config)) : undefined;
    if (problem) throw new ConfigError(problem);
    return config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}
