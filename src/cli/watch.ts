import createDebug from "debug";
import { existsSync, readdirSync, statSync, watch, type FSWatcher } from "node:fs";
import path from "node:path";

const debug = createDebug("runtime:cli:watch");

/** Files whose change can change what the workers run. */
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs|json)$/;

/** Folders never watched: dependencies, dot-folders (.git, …), logs. */
const skipped = (name: string) => name === "node_modules" || name.startsWith(".") || name === "logs";

/** The application's project folder: the nearest folder holding a package.json, else the module's own folder. */
export function projectFolder(file: string): string {
  let dir = path.dirname(path.resolve(file));
  for (;;) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return path.dirname(path.resolve(file));
    dir = parent;
  }
}

/**
 * Watches source files (`.ts`, `.js`, `.json`, … ; see {@link SOURCE}) below some folders or
 * files, with one inotify watch per folder (not Node's recursive mode, which would read all of
 * node_modules), following folders created later. `onChange` gets the changed files, relative to
 * the first root, once `quietMs` have passed without another change.
 */
export class SourceWatcher {
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly changed = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly roots: string[],
    private readonly onChange: (files: string[]) => void,
    private readonly quietMs = 100,
  ) {
    for (const root of roots) this.add(path.resolve(root));
  }

  /** How many folders (and single files) are watched. */
  get size(): number {
    return this.watchers.size;
  }

  private add(target: string): void {
    if (this.closed || this.watchers.has(target)) return;
    let isDir: boolean;
    try {
      isDir = statSync(target).isDirectory();
    } catch {
      return; // gone meanwhile
    }
    try {
      const watcher = watch(target, (_event, name) => this.onEvent(target, isDir, name ? String(name) : undefined));
      watcher.on("error", () => this.drop(target));
      this.watchers.set(target, watcher);
    } catch (err) {
      debug("cannot watch %s: %s", target, (err as Error).message);
      return;
    }
    if (!isDir) return;
    for (const entry of readdirSync(target, { withFileTypes: true })) {
      if (entry.isDirectory() && !skipped(entry.name)) this.add(path.join(target, entry.name));
    }
  }

  private drop(target: string): void {
    this.watchers.get(target)?.close();
    this.watchers.delete(target);
  }

  private onEvent(target: string, isDir: boolean, name: string | undefined): void {
    const file = isDir ? path.join(target, name ?? "") : target;
    if (isDir && name && !skipped(name)) {
      // a folder created (watch it and what it holds) or removed (forget it)
      if (existsSync(file)) {
        if (statSync(file, { throwIfNoEntry: false })?.isDirectory()) this.add(file);
      } else if (this.watchers.has(file)) {
        this.drop(file);
      }
    }
    if (!SOURCE.test(file) || (name && skipped(name))) return;
    debug("changed: %s", file);
    this.changed.add(path.relative(this.roots[0] ?? ".", file) || path.basename(file));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const files = [...this.changed].sort();
      this.changed.clear();
      this.onChange(files);
    }, this.quietMs);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }
}
