import { register } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

/** File names the TypeScript hooks run (declaration files excluded). */
const TYPESCRIPT = /(?<!\.d)\.(ts|mts|cts)$/;

/** Whether `file` is a TypeScript module (`.ts`, `.mts`, `.cts`). */
export function isTypeScript(file: string): boolean {
  return TYPESCRIPT.test(file);
}

let registered = false;

/**
 * Lets this process `import()` TypeScript modules (`hooks.mts`: types removed by sucrase, no
 * build step). Idempotent; the hooks apply to modules loaded through `import` from then on.
 */
export function registerTypeScript(): void {
  if (registered) return;
  registered = true;
  register(pathToFileURL(path.join(__dirname, "hooks.mjs")).href);
}
