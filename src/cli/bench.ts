import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import createDebug from "debug";
import { COMMAND_NAME } from "./help";

const debug = createDebug("runtime:cli:bench");

/** The package's folder (`dist/cli` → its root). */
export const PACKAGE_ROOT = path.resolve(__dirname, "..", "..");

/**
 * What the harness runs on besides the runtime's own dependencies: the load generator's tools,
 * not needed to run an application, so not dependencies of the package (the project that wants
 * to measure installs them as development dependencies).
 */
export const BENCH_TOOLS = ["tsx", "esbuild", "autocannon", "ws"] as const;

/** `name@version` of each tool, at the versions this package is developed and measured with. */
function pinnedTools(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  return BENCH_TOOLS.map((tool) => {
    // ws is also a dependency of the runtime (its Node engine's WebSocket server)
    const range = manifest.devDependencies?.[tool] ?? manifest.dependencies?.[tool];
    return range ? `${tool}@${range.replace(/^[\^~]/, "")}` : tool;
  });
}

/** The folder of package `name`, found from the project (the working directory) or the package. */
function packageFolder(name: string): string | undefined {
  try {
    return path.dirname(require.resolve(`${name}/package.json`, { paths: [process.cwd(), PACKAGE_ROOT] }));
  } catch {
    return undefined;
  }
}

/**
 * `bench [harness options]`: the package's benchmark harness (`npm run bench` of this repository:
 * the runtime with its `echo` application against the canonical Socket.IO cluster recipe, a single
 * process and raw uWebSockets.js, on this machine), with results in `./bench-results` unless
 * `--out` says otherwise. Resolves the harness's exit code; 1 with what to install when its tools
 * are missing.
 */
export async function bench(args: string[]): Promise<number> {
  const harness = path.join(PACKAGE_ROOT, "bench", "run.ts");
  if (!existsSync(harness)) {
    process.stderr.write(`${COMMAND_NAME} bench: the harness (bench/run.ts) is not part of this installation\n`);
    return 1;
  }
  const missing = BENCH_TOOLS.filter((tool) => packageFolder(tool) === undefined);
  if (missing.length > 0) {
    process.stderr.write(
      `${COMMAND_NAME} bench: the benchmark harness needs ${missing.join(", ")}; install its tools in this project:\n` +
        `  npm install --save-dev ${pinnedTools().join(" ")}\n`,
    );
    return 1;
  }
  const helpOnly = args.includes("--help") || args.includes("-h");
  const out = args.includes("--out") || args.some((arg) => arg.startsWith("--out=")) || helpOnly ? [] : ["--out", path.resolve("bench-results")];
  const tsx = pathToFileURL(path.join(packageFolder("tsx")!, "dist", "loader.mjs")).href;
  debug("harness %s with %s", harness, tsx);
  const child = spawn(process.execPath, ["--import", tsx, harness, ...out, ...args], { stdio: "inherit" });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on("SIGINT", forward);
  process.on("SIGTERM", forward);
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}
