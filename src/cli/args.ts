import { SETTINGS, type Config, type Setting } from "../config/settings";

/** A command line that cannot be run: printed with a pointer to `--help`, exit status 2. */
export class UsageError extends Error {}

/** The commands, in the order `--help` lists them. */
export const COMMANDS = ["dev", "start", "check", "bench"] as const;
export type Command = (typeof COMMANDS)[number];

/** The flag of a setting: its variable in lower case with dashes (`MAX_ROOMS_PER_SOCKET` → `--max-rooms-per-socket`). */
export function flagOf(setting: Pick<Setting, "env">): string {
  return `--${setting.env.toLowerCase().replaceAll("_", "-")}`;
}

/** Every setting's flag, derived from the settings table: flag → the setting's key. */
const SETTING_FLAGS = new Map<string, keyof Config>(
  (Object.entries(SETTINGS) as [keyof Config, Setting][]).map(([key, setting]) => [flagOf(setting), key]),
);

/** Options of one command that are not settings. */
export const COMMAND_OPTIONS = {
  /** `dev`: a file or folder to watch instead of the application's project folder (repeatable). */
  watch: { flag: "--watch", command: "dev", value: "path", help: "a file or folder to watch (repeatable); default: the application's project folder (its nearest package.json), node_modules and dot-folders left out" },
  /** `start`: stop when standard input closes. */
  exitOnStdinClose: {
    flag: "--exit-on-stdin-close",
    command: "start",
    value: undefined,
    help: "stop (gracefully, as on SIGTERM) when standard input closes: for a program that starts the runtime as its child process (dev, createRuntime), so that the cluster never outlives it",
  },
} as const;

export interface ParsedArgs {
  command?: Command;
  /** The application module as written (`start app.ts`), if any. */
  app?: string;
  /** Settings given as flags, by variable name (`{ PORT: "4000" }`). */
  settings: Record<string, string>;
  watch: string[];
  exitOnStdinClose: boolean;
  help: boolean;
  version: boolean;
  /** `bench`: everything after the command, for the harness. */
  passThrough: string[];
}

/**
 * Parses `<command> [app] [--flag value | --flag=value]...`. Every setting of the settings table
 * is a flag (see {@link flagOf}); `--help`/`-h` and `--version`/`-v` anywhere; after `bench`,
 * everything goes to the benchmark harness.
 * @throws UsageError for an unknown command or flag, a missing value, or a second application.
 */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const parsed: ParsedArgs = { settings: {}, watch: [], exitOnStdinClose: false, help: false, version: false, passThrough: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (parsed.command === "bench") {
      parsed.passThrough.push(arg);
      continue;
    }
    if (arg === "--help" || arg === "-h") {
      parsed.help = true;
      continue;
    }
    if (arg === "--version" || arg === "-v") {
      parsed.version = true;
      continue;
    }
    if (!arg.startsWith("-")) {
      if (parsed.command === undefined) {
        if (arg === "help") parsed.help = true;
        else if ((COMMANDS as readonly string[]).includes(arg)) parsed.command = arg as Command;
        else throw new UsageError(`unknown command ${JSON.stringify(arg)} (commands: ${COMMANDS.join(", ")})`);
      } else if (parsed.app === undefined) {
        parsed.app = arg;
      } else {
        throw new UsageError(`one application module only (got ${JSON.stringify(parsed.app)} and ${JSON.stringify(arg)})`);
      }
      continue;
    }
    const equals = arg.indexOf("=");
    const flag = equals > 0 ? arg.slice(0, equals) : arg;
    if (flag === COMMAND_OPTIONS.exitOnStdinClose.flag) {
      if (equals > 0) throw new UsageError(`${flag} takes no value`);
      parsed.exitOnStdinClose = true;
      continue;
    }
    const key = SETTING_FLAGS.get(flag);
    if (key === undefined && flag !== COMMAND_OPTIONS.watch.flag) throw new UsageError(`unknown option ${flag}`);
    let value: string | undefined;
    if (equals > 0) value = arg.slice(equals + 1);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) value = argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    if (key === undefined) parsed.watch.push(value);
    else parsed.settings[SETTINGS[key].env] = value;
  }
  if (parsed.watch.length > 0 && parsed.command !== "dev") throw new UsageError(`${COMMAND_OPTIONS.watch.flag} is an option of dev`);
  if (parsed.exitOnStdinClose && parsed.command !== "start") throw new UsageError(`${COMMAND_OPTIONS.exitOnStdinClose.flag} is an option of start`);
  return parsed;
}
