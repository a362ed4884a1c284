import createDebug from "debug";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { compareGlibc, formatGlibcVersion, parseGlibcVersion, requiredGlibc, runtimeGlibc, type GlibcVersion } from "./glibc";

/*
 * The uWebSockets.js engine's primary half: every worker listens on the port itself (SO_REUSEPORT)
 * and routes sessions to the others (`./sticky-router.ts`), so the primary only checks, before it
 * forks, that the engine can load here, and says which build serves or why none can.
 */

const debug = createDebug("runtime:uws:build");

/**
 * The name every uWebSockets.js build is installed under (`package.json`: `"uWebSockets.js": …`):
 * the default `npm:@trufflesuite/uws-js-unofficial@20.30`, upstream's tag
 * (`github:uNetworking/uWebSockets.js#v20.x`) or another registry build of upstream's API.
 */
export const UWS_DEPENDENCY = "uWebSockets.js";

/** Where the README explains how to get a uWebSockets.js build for Node 22 and 24. */
export const UWS_README_SECTION = 'README, "uWebSockets.js on Node 22 and 24"';

/**
 * The glibc that the uWebSockets.js builds for Node 22 and 24 known so far need (upstream's
 * v20.5x/v20.6x and the registry's `@btc-vision/uwebsockets.js` 20.57): Debian 13, Ubuntu 24.04.
 */
export const NEWER_BUILDS_GLIBC: GlibcVersion = [2, 38];

/** The module functions and `App` methods the uWS engine calls, checked once before any worker starts. */
export const UWS_API = {
  module: ["App", "SSLApp", "us_listen_socket_close", "us_socket_local_port"],
  app: ["get", "post", "any", "ws", "listen", "listen_unix", "publish"],
} as const;

/** Node's ABI (`process.versions.modules`) of each Node major release that uWS builds name. */
const NODE_OF_ABI: Record<string, number> = { "93": 16, "108": 18, "115": 20, "120": 21, "127": 22, "131": 23, "137": 24, "141": 25 };

/** The uWebSockets.js build that serves. */
export interface UwsBuild {
  /** The installed package's own name: `uWebSockets.js` (upstream), `@trufflesuite/uws-js-unofficial`, … */
  package: string;
  version: string;
  /** Node's ABI the binary is built for (this process's `process.versions.modules`). */
  abi: string;
  /** The native binary loaded, when the package's layout names it. */
  binary?: string;
}

/** What {@link checkUws} found: the build that serves, or why none can and what the user can do. */
export type UwsCheck =
  | { ok: true; build: UwsBuild }
  | {
      ok: false;
      /** Why uWebSockets.js cannot serve here, in one sentence (the installed build and version in it). */
      reason: string;
      /** What the user can do about it, in one sentence. */
      remedy: string;
      /** The installed package, when one was found. */
      package?: string;
      version?: string;
    };

/** `"137"` → `"24"`, `"1"` → `"ABI 1"`. */
function nodeOfAbi(abi: string): string {
  return NODE_OF_ABI[abi] ? String(NODE_OF_ABI[abi]) : `ABI ${abi}`;
}

/** The folder of the package whose entry file is `entry`: the nearest folder above it with a `package.json`. */
function packageRoot(entry: string): string {
  for (let dir = path.dirname(entry); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) return path.dirname(entry);
  }
}

/** The native binaries of this platform and architecture in `dirs`, by ABI. */
function binariesByAbi(dirs: string[]): Map<string, string> {
  const pattern = new RegExp(`^uws_${process.platform}_${process.arch}_(\\d+)\\.node$`);
  const found = new Map<string, string>();
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const abi = pattern.exec(name)?.[1];
      if (abi && !found.has(abi)) found.set(abi, path.join(dir, name));
    }
  }
  return found;
}

/** What the user can do when the installed build cannot serve this Node: depends on the Node line and this system's glibc. */
function remedyForNode(glibc: GlibcVersion | undefined): string {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 22) return "reinstall the default build (npm ci), which has Node 20 binaries for glibc ≥ 2.27";
  const newer = formatGlibcVersion(NEWER_BUILDS_GLIBC);
  if (glibc && compareGlibc(glibc, NEWER_BUILDS_GLIBC) < 0) {
    return (
      `no uWebSockets.js build for Node ${major} loads on glibc ${formatGlibcVersion(glibc)} (they need ≥ ${newer}): run Node 20 ` +
      `for the uWS engine, or move to glibc ≥ ${newer} (Debian 13, Ubuntu 24.04) with a build for Node ${major} (${UWS_README_SECTION})`
    );
  }
  return `install a uWebSockets.js build with Node ${major} binaries (${UWS_README_SECTION}), or run Node 20 with the default build (npm ci)`;
}

/** The functions of {@link UWS_API} that `module` lacks (`App.listen_unix`, …). */
export function missingUwsApi(module: Record<string, unknown>): string[] {
  const missing: string[] = UWS_API.module.filter((name) => typeof module[name] !== "function");
  if (typeof module.App !== "function") return missing;
  const app = (module.App as () => Record<string, unknown>)();
  return missing.concat(UWS_API.app.filter((name) => typeof app[name] !== "function").map((name) => `App.${name}`));
}

/** Where {@link checkUws} looks, for tests: by default, from this module and on this system. */
export interface UwsCheckOptions {
  /** A folder to resolve {@link UWS_DEPENDENCY} from. */
  from?: string;
  /** This system's glibc (`null`: not glibc). */
  glibc?: GlibcVersion | null;
}

/**
 * Whether uWebSockets.js can serve here, checked before any worker is forked: finds the build
 * installed as {@link UWS_DEPENDENCY} (its package's own name and version read from its folder, so
 * that a package with an `exports` map is found too), its native binary for this platform and
 * Node ABI, the glibc that binary needs against this system's, loads it (the default build
 * silently falls back to a slow JavaScript imitation when its binary does not load, so the binary
 * is loaded directly) and checks the API the engine uses.
 */
export function checkUws(options: UwsCheckOptions = {}): UwsCheck {
  const abi = process.versions.modules;
  const target = `${process.platform}-${process.arch}, Node ABI ${abi}`;
  const glibc = options.glibc === undefined ? runtimeGlibc() : (options.glibc ?? undefined);
  let entry: string;
  try {
    entry = require.resolve(UWS_DEPENDENCY, options.from ? { paths: [options.from] } : undefined);
  } catch {
    return { ok: false, reason: `${UWS_DEPENDENCY} is not installed`, remedy: "install the dependencies (npm ci)" };
  }
  const root = packageRoot(entry);
  const manifest = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { name?: string; version?: string };
  const found = { package: manifest.name ?? UWS_DEPENDENCY, version: manifest.version ?? "unknown" };
  const label = `${found.package} ${found.version}`;
  const fail = (reason: string, remedy: string): UwsCheck => ({ ok: false, reason, remedy, ...found });
  const glibcTooOld = (needs: GlibcVersion): UwsCheck =>
    fail(
      `${label}'s binary for ${target} needs glibc ≥ ${formatGlibcVersion(needs)}; ` +
        (glibc ? `this system has glibc ${formatGlibcVersion(glibc)}` : "this system's C library is not glibc"),
      remedyForNode(glibc),
    );

  const binaries = binariesByAbi([root, path.join(root, "binaries")]);
  debug("%s at %s; binaries for %s: ABIs %o; glibc %o", label, root, process.platform + "-" + process.arch, [...binaries.keys()], glibc);
  const binary = binaries.get(abi);
  if (!binary && binaries.size > 0) {
    const has = [...binaries.keys()].sort((a, b) => Number(a) - Number(b));
    return fail(
      `no uWebSockets.js binary for ${target} (Node ${nodeOfAbi(abi)}) in ${label}, which has ABIs ${has.join(", ")} (Node ${has.map(nodeOfAbi).join(", ")})`,
      remedyForNode(glibc),
    );
  }
  if (binary && process.platform === "linux") {
    const needs = requiredGlibc(binary);
    if (needs && (!glibc || compareGlibc(glibc, needs) < 0)) return glibcTooOld(needs);
  }

  let module: Record<string, unknown>;
  try {
    // a layout without binaries beside the package (none found above): its entry must load a native binary
    module = require(binary ?? entry) as Record<string, unknown>;
  } catch (err) {
    const message = (err as Error).message;
    // a layout whose binary was not found above: the loader names the glibc version it misses
    const glibcNeeded = parseGlibcVersion(/GLIBC_(\d+\.\d+)' not found/.exec(message)?.[1]);
    if (glibcNeeded) return glibcTooOld(glibcNeeded);
    const firstLine = message.split("\n").find((line) => line.trim() !== "") ?? String(err);
    return fail(`${label} cannot load for ${target}: ${firstLine}`, remedyForNode(glibc));
  }
  if (!binary && !/\[native code\]/.test(String(module.App))) {
    return fail(`no uWebSockets.js binary for ${target} in ${label} (its entry loads no native App)`, remedyForNode(glibc));
  }
  const missing = missingUwsApi(module);
  if (missing.length > 0) {
    return fail(
      `${label} lacks ${missing.join(", ")}, which the uWS engine uses`,
      `install a tested build: the default (npm ci: @trufflesuite/uws-js-unofficial 20.30) or upstream's API 20.5x/20.6x (${UWS_README_SECTION})`,
    );
  }
  return { ok: true, build: { ...found, abi, ...(binary ? { binary } : {}) } };
}

/** The build that serves, in a few words: `uWebSockets.js 20.57.0 (@btc-vision/uwebsockets.js), Node 24, ABI 137`. */
export function describeUwsBuild(build: UwsBuild): string {
  const name = build.package === UWS_DEPENDENCY ? `${UWS_DEPENDENCY} ${build.version}` : `${UWS_DEPENDENCY} ${build.version} (${build.package})`;
  return `${name}, Node ${nodeOfAbi(build.abi)}, ABI ${build.abi}`;
}
