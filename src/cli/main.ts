#!/usr/bin/env node
/**
 * `uws-socketio-cluster <command> [app] [options]`: the package's command (see `--help`).
 *
 * The primary of `start` is this process; node:cluster runs this file again for each worker,
 * which goes straight to the runtime (the primary put the settings in the environment workers
 * inherit).
 */
import cluster from "node:cluster";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import createDebug from "debug";
import { importApplication } from "../app/registry";
import { defaultPublicDir } from "../embed/runtime";
import { parseArgs, UsageError, type ParsedArgs } from "./args";
import { bench, PACKAGE_ROOT } from "./bench";
import { dev } from "./dev";
import { COMMAND_NAME, helpText } from "./help";

const debug = createDebug("runtime:cli");

/** Runs the runtime (`src/main.ts`) in this process: the primary here, a worker in a forked process. */
function runRuntime(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require("../main");
}

/**
 * The environment the runtime reads, from the command line: each setting flag becomes its
 * variable (winning over the one set), the application module becomes `APP_MODULE`, and
 * `PUBLIC_DIR` defaults to `./public` when that folder exists, else to the event console for an
 * application module ({@link defaultPublicDir}).
 */
function applyToEnvironment(args: ParsedArgs): void {
  Object.assign(process.env, args.settings);
  if (args.app !== undefined) process.env.APP_MODULE = path.resolve(args.app);
  process.env.PUBLIC_DIR ||= defaultPublicDir(process.cwd(), Boolean(process.env.APP_MODULE));
}

/** `check <app>`: imports the module as a worker does and says what it exports. */
async function check(app: string): Promise<number> {
  const file = path.resolve(app);
  if (!existsSync(file)) {
    process.stderr.write(`${app}: no such file\n`);
    return 1;
  }
  try {
    const application = await importApplication(file);
    const notFunction = application.features.findIndex((feature) => typeof feature !== "function");
    if (notFunction >= 0) throw new Error(`${app}: feature ${notFunction} is not a function`);
    process.stdout.write(`${app}: application "${application.name}", ${application.features.length} feature(s)\n`);
    return 0;
  } catch (err) {
    // a syntax error names the file, line and column: its stack would be the loader's
    const said = err instanceof SyntaxError ? `SyntaxError: ${err.message}` : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`${said}\n`);
    return 1;
  }
}

/** Stops the runtime gracefully (as on SIGTERM) when standard input closes: its parent is gone. */
function exitWithStdin(): void {
  process.stdin.on("end", () => process.kill(process.pid, "SIGTERM"));
  process.stdin.on("error", () => process.kill(process.pid, "SIGTERM"));
  process.stdin.resume();
}

function version(): string {
  const manifest = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string };
  return manifest.version;
}

async function main(argv: string[]): Promise<number | "running"> {
  const args = parseArgs(argv);
  debug("command %s, app %s, settings %o", args.command, args.app, args.settings);
  if (args.version) {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (args.command === "bench") return bench(args.passThrough);
  if (args.help || args.command === undefined) {
    process.stdout.write(helpText());
    return args.help ? 0 : 2;
  }
  if ((args.command === "dev" || args.command === "check") && args.app === undefined) {
    throw new UsageError(`${args.command} needs the application module: ${COMMAND_NAME} ${args.command} <app>`);
  }
  applyToEnvironment(args);
  switch (args.command) {
    case "check":
      return check(args.app!);
    case "dev":
      return dev({ app: args.app!, watch: args.watch });
    case "start":
      if (args.exitOnStdinClose) exitWithStdin();
      runRuntime();
      return "running";
  }
}

if (cluster.isWorker) {
  runRuntime();
} else {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code !== "running") process.exit(code);
    },
    (err: unknown) => {
      if (!(err instanceof UsageError)) throw err;
      process.stderr.write(`${COMMAND_NAME}: ${err.message}\nRun \`${COMMAND_NAME} --help\` for the commands and options.\n`);
      process.exit(2);
    },
  );
}
