/**
 * Module hooks (`node:module` `register`) that run TypeScript application modules as they are, with
 * no build step: sucrase removes the types (imports used only as types included) and keeps the
 * line numbers, so stack traces point at the `.ts` lines.
 *
 * - `.ts` and `.mts` files are ES modules (`import` / `export`), whatever the package's `type`;
 *   `.cts` files are CommonJS (their `import` / `export` become `require` / `exports`).
 * - From a TypeScript file, `./x.js` finds `./x.ts` when there is no `x.js` (TypeScript's own
 *   convention for ES modules), and `./x` finds `./x.ts` or `./x/index.ts`.
 * - Types are not checked: run `tsc --noEmit` (or the editor) for that.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const { transform } = require("sucrase") as typeof import("sucrase");

/** A TypeScript source file (not a declaration file). */
const TYPESCRIPT = /(?<!\.d)\.(ts|mts|cts)$/;

interface ResolveContext {
  parentURL?: string;
  conditions: string[];
  importAttributes?: Record<string, string>;
}
interface Resolved {
  url: string;
  format?: string | null;
  shortCircuit?: boolean;
}
type NextResolve = (specifier: string, context: ResolveContext) => Promise<Resolved>;

interface LoadContext {
  format?: string | null;
  conditions: string[];
  importAttributes?: Record<string, string>;
}
interface Loaded {
  format: string;
  source?: string | ArrayBuffer | Uint8Array | null;
  shortCircuit?: boolean;
}
type NextLoad = (url: string, context: LoadContext) => Promise<Loaded>;

/** Whether `url` is a TypeScript file on disk. */
function isTypeScript(url: string | undefined): url is string {
  return url !== undefined && url.startsWith("file:") && TYPESCRIPT.test(new URL(url).pathname);
}

/** The TypeScript files `specifier` may mean when it does not exist as written. */
function candidates(specifier: string): string[] {
  const written = /\.(c|m)?js$/.exec(specifier);
  if (written) return [specifier.slice(0, -written[0].length) + `.${written[1] ?? ""}ts`];
  if (/\.[a-z]+$/i.test(specifier.split("/").pop() ?? "")) return [];
  return [`${specifier}.ts`, `${specifier}.mts`, `${specifier}/index.ts`];
}

/** Relative, absolute or `file:` specifiers: the ones that name a file of the application. */
const isPath = (specifier: string) => /^(\.{1,2}\/|\/|file:)/.test(specifier);

export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<Resolved> {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (!isTypeScript(context.parentURL) || !isPath(specifier) || (code !== "ERR_MODULE_NOT_FOUND" && code !== "ERR_UNSUPPORTED_DIR_IMPORT")) {
      throw err;
    }
    for (const candidate of candidates(specifier)) {
      try {
        return await nextResolve(candidate, context);
      } catch {
        // the next candidate
      }
    }
    throw err;
  }
}

export async function load(url: string, context: LoadContext, nextLoad: NextLoad): Promise<Loaded> {
  if (!isTypeScript(url)) return nextLoad(url, context);
  const file = fileURLToPath(url);
  const commonjs = file.endsWith(".cts");
  const source = await readFile(file, "utf8");
  let code: string;
  try {
    ({ code } = transform(source, {
      transforms: commonjs ? ["typescript", "imports"] : ["typescript"],
      filePath: file,
      disableESTransforms: true,
      preserveDynamicImport: true,
      injectCreateRequireForImportRequire: !commonjs,
    }));
  } catch (err) {
    // sucrase says "Error transforming <file>: <what> (<line>:<column>)"
    const message = (err as Error).message;
    throw new SyntaxError(message.includes(file) ? message : `${file}: ${message}`);
  }
  return { format: commonjs ? "commonjs" : "module", source: code, shortCircuit: true };
}
