import { SETTINGS, type Setting } from "../config/settings";
import { COMMAND_OPTIONS, flagOf } from "./args";

/** The command's name, as installed in `node_modules/.bin`. */
export const COMMAND_NAME = "uws-socketio-cluster";

/** Markdown of the settings' documentation as plain terminal text. */
function plain(markdown: string): string {
  return markdown
    .replace(/\[([^\]]+)\]\([^)]+\)/g, "$1")
    .replace(/\*([^*]+)\*/g, "$1 (README)")
    .replaceAll("`", "");
}

/** `text` wrapped to `width` columns, every line indented by `indent` spaces. */
function wrap(text: string, indent: number, width: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.map((l) => " ".repeat(indent) + l).join("\n");
}

/** One option: the flag with its variable, then what it means and its default, indented. */
function option(flag: string, value: string | undefined, meaning: string, width: number): string {
  return `  ${value ? `${flag} <${value}>` : flag}\n${wrap(meaning, 6, width)}`;
}

/**
 * `--help`: the commands, then every setting of the settings table as a flag with its
 * environment variable, meaning and default (the same table the README's *Configuration* shows).
 */
export function helpText(width = Math.min(process.stdout.columns || 100, 100)): string {
  const settings = Object.values(SETTINGS).map((setting: Setting) => {
    const shownDefault = plain(setting.doc.default ?? String(setting.default));
    return option(flagOf(setting), setting.env, `${plain(setting.doc.meaning)}. Default: ${shownDefault}.`, width);
  });
  const own = Object.values(COMMAND_OPTIONS).map((o) => option(o.flag, o.value, `${o.command}: ${o.help}.`, width));
  return [
    `Usage: ${COMMAND_NAME} <command> [app] [options]`,
    "",
    "Commands:",
    `  dev <app>      development: runs the cluster, watches the application's files and, when one`,
    `                 changes, rolls the workers one at a time (the SIGHUP path): connected clients`,
    `                 stay connected and recover what they missed. WORKERS defaults to 2.`,
    `  start [app]    production: runs the cluster (under pm2 too: docs/pm2.md). Without an app,`,
    `                 the built-in APP.`,
    `  check <app>    loads the application module once and says whether it exports an application`,
    `  bench [...]    the package's benchmark harness (${COMMAND_NAME} bench --help)`,
    "",
    "<app> is a TypeScript (.ts, .mts, .cts) or JavaScript module whose default export (or its",
    "export named application) is defineApp({ features }); TypeScript runs as it is, no build step.",
    "",
    "Logs: readable lines and the URL to open on a terminal, JSON lines otherwise (LOG_FORMAT).",
    "Static files (PUBLIC_DIR unset): ./public when that folder exists; else, with an app, an event",
    "console (shows and emits any event); without one, the built-in application's pages.",
    "Signals: SIGHUP rolls the workers (new code, no client dropped); SIGTERM or SIGINT drains and stops.",
    "",
    "Options (each is also an environment variable, named after the flag; a flag wins over it):",
    ...settings,
    "",
    "Options of one command:",
    ...own,
    "  --help, -h, --version, -v",
    "",
  ].join("\n");
}
