import { buildSync } from "esbuild";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** The scripts that run in processes of their own (servers under test, load generators). */
export const ENTRY_POINTS = {
  recipe: "servers/recipe.ts",
  single: "servers/single.ts",
  rawUws: "servers/raw-uws.ts",
  gcHook: "servers/gc-hook.ts",
  generator: "load/generator.ts",
  httpLoad: "load/http-load.ts",
} as const;

export type EntryName = keyof typeof ENTRY_POINTS;

export interface CompiledScripts {
  dir: string;
  file(name: EntryName): string;
  /** Environment for those scripts: packages resolve from the project's node_modules. */
  env: NodeJS.ProcessEnv;
  dispose(): void;
}

/**
 * The node_modules folders a module of `root` resolves packages from, nearest first: the
 * repository's own, or, for the package installed in a project, the project's (where npm put the
 * package's dependencies).
 */
function nodeModulesFrom(root: string): string[] {
  const folders: string[] = [];
  for (let dir = path.resolve(root); ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== "node_modules") folders.push(path.join(dir, "node_modules"));
    if (path.dirname(dir) === dir) return folders;
  }
}

/**
 * Compiles the bench's child-process scripts to plain CommonJS in a temporary folder, so that
 * servers and generators run on plain `node` (no TypeScript loader in their memory or CPU
 * figures). Packages stay external and resolve from the project's node_modules (NODE_PATH).
 */
export function compileScripts(benchDir: string, root: string): CompiledScripts {
  const dir = mkdtempSync(path.join(os.tmpdir(), "sio-bench-"));
  buildSync({
    entryPoints: Object.fromEntries(
      Object.entries(ENTRY_POINTS).map(([name, file]) => [name, path.join(benchDir, file)]),
    ),
    outdir: dir,
    outExtension: { ".js": ".cjs" },
    bundle: true,
    packages: "external",
    platform: "node",
    format: "cjs",
    target: "node20",
    sourcemap: false,
    logLevel: "error",
  });
  return {
    dir,
    file: (name) => path.join(dir, `${name}.cjs`),
    env: { ...process.env, NODE_PATH: nodeModulesFrom(root).join(path.delimiter) },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
