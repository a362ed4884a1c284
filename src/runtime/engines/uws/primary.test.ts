import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatGlibcVersion, requiredGlibc } from "./glibc";
import { checkUws, describeUwsBuild, missingUwsApi } from "./primary";

/** The check on this machine, with the build `npm ci` installed. */
const here = checkUws();
const abi = process.versions.modules;
const nodeMajor = Number(process.versions.node.split(".")[0]);
const target = `${process.platform}-${process.arch}, Node ABI ${abi}`;
const binaryName = (forAbi: string) => `uws_${process.platform}_${process.arch}_${forAbi}.node`;

const folders: string[] = [];
afterAll(() => folders.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/**
 * A folder whose `node_modules/uWebSockets.js` is a package with `manifest` and `files` (a function
 * value makes a symbolic link to that path); returns the folder to resolve it from.
 */
function installed(manifest: object, files: Record<string, string | (() => string)> = {}): string {
  const from = mkdtempSync(path.join(os.tmpdir(), "uws-check-"));
  folders.push(from);
  const dir = path.join(from, "node_modules", "uWebSockets.js");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "package.json"), JSON.stringify(manifest));
  writeFileSync(path.join(dir, "uws.js"), "");
  for (const [name, content] of Object.entries(files)) {
    if (typeof content === "function") symlinkSync(content(), path.join(dir, name));
    else writeFileSync(path.join(dir, name), content);
  }
  return from;
}

const BUILD = { name: "@example/uws-build", version: "1.2.3", main: "uws.js" };

describe("checkUws: which uWebSockets.js build serves, or why none can", () => {
  it.runIf(here.ok)("names a build installed under uWebSockets.js from its own folder, even behind an `exports` map", () => {
    if (!here.ok) return;
    const native = here.build.binary ?? createRequire(__filename).resolve("uWebSockets.js");
    const from = installed(
      { name: "uWebSockets.js", version: "20.61.0", main: "uws.js", exports: { ".": { require: "./uws.js" } } },
      { "uws.js": `module.exports = require(${JSON.stringify(native)});` },
    );
    // the check of 20.30's time resolved this, which an `exports` map does not expose
    expect(() => createRequire(path.join(from, "x.js")).resolve("uWebSockets.js/package.json")).toThrow();
    const check = checkUws({ from });
    expect(check).toEqual({ ok: true, build: { package: "uWebSockets.js", version: "20.61.0", abi } });
    if (check.ok) expect(describeUwsBuild(check.build)).toMatch(new RegExp(`^uWebSockets\\.js 20\\.61\\.0, Node (\\d+|ABI \\d+), ABI ${abi}$`));
  });

  it("no binary for this Node: names the build, the ABIs it has, their Node lines, and what to do", () => {
    const others = ["93", "108", "115", "137"].filter((a) => a !== abi).slice(0, 2);
    const from = installed(BUILD, Object.fromEntries(others.map((a) => [binaryName(a), ""])));
    const nodes = others.map((a) => ({ "93": 16, "108": 18, "115": 20, "137": 24 })[a]).join(", ");
    const check = checkUws({ from, glibc: [2, 36] });
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.reason).toMatch(
      new RegExp(`^no uWebSockets\\.js binary for ${process.platform}-${process.arch}, Node ABI ${abi} \\(Node .+\\) in @example/uws-build 1\\.2\\.3, which has ABIs ${others.join(", ")} \\(Node ${nodes}\\)$`),
    );
    expect(check).toMatchObject({ package: "@example/uws-build", version: "1.2.3" });
    if (nodeMajor < 22) {
      expect(check.remedy).toMatch(/^reinstall the default build \(npm ci\)/);
    } else {
      expect(check.remedy).toMatch(/^no uWebSockets\.js build for Node \d+ loads on glibc 2\.36 \(they need ≥ 2\.38\): run Node 20 .*Debian 13/);
      const newer = checkUws({ from, glibc: [2, 41] });
      expect(!newer.ok && newer.remedy).toMatch(/^install a uWebSockets\.js build with Node \d+ binaries \(README, "uWebSockets\.js on Node 22 and 24"\)/);
    }
  });

  it.runIf(process.platform === "linux")("a binary that needs a newer glibc than this system's: both versions, without loading it", () => {
    // any glibc-linked ELF file stands for the binary: this Node's own
    const elf = realpathSync(process.execPath);
    const needs = requiredGlibc(elf);
    expect(needs).toBeDefined();
    const from = installed(BUILD, { [binaryName(abi)]: () => elf });
    const check = checkUws({ from, glibc: [2, 0] });
    expect(check).toMatchObject({
      ok: false,
      reason: `@example/uws-build 1.2.3's binary for ${target} needs glibc ≥ ${formatGlibcVersion(needs!)}; this system has glibc 2.0`,
    });
    expect(checkUws({ from, glibc: null })).toMatchObject({
      ok: false,
      reason: `@example/uws-build 1.2.3's binary for ${target} needs glibc ≥ ${formatGlibcVersion(needs!)}; this system's C library is not glibc`,
    });
  });

  it("a binary that does not load: the first line of the loader's error", () => {
    const from = installed(BUILD, { [binaryName(abi)]: "not a shared object\n" });
    const check = checkUws({ from });
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.reason).toMatch(new RegExp(`^@example/uws-build 1\\.2\\.3 cannot load for ${target}: \\S.*`));
  });

  it("an entry that loads no native App (a JavaScript imitation) does not serve", () => {
    const imitation = "module.exports = { App() { return {}; }, SSLApp() {}, us_listen_socket_close() {}, us_socket_local_port() {} };";
    const check = checkUws({ from: installed(BUILD, { "uws.js": imitation }) });
    expect(check).toMatchObject({ ok: false, reason: `no uWebSockets.js binary for ${target} in @example/uws-build 1.2.3 (its entry loads no native App)` });
  });

  it("nothing installed under uWebSockets.js", () => {
    const from = mkdtempSync(path.join(os.tmpdir(), "uws-check-"));
    folders.push(from);
    expect(checkUws({ from })).toEqual({ ok: false, reason: "uWebSockets.js is not installed", remedy: "install the dependencies (npm ci)" });
  });
});

describe("missingUwsApi", () => {
  it("names the module functions and App methods the engine uses that a build lacks", () => {
    const app = { get() {}, post() {}, any() {}, ws() {}, listen() {}, publish() {} };
    const module = { App: () => app, SSLApp() {}, us_listen_socket_close() {} };
    expect(missingUwsApi(module)).toEqual(["us_socket_local_port", "App.listen_unix"]);
    expect(missingUwsApi({})).toEqual(["App", "SSLApp", "us_listen_socket_close", "us_socket_local_port"]);
  });

  it.runIf(here.ok)("the installed build has all of it", () => {
    if (here.ok && here.build.binary) expect(missingUwsApi(createRequire(__filename)(here.build.binary) as Record<string, unknown>)).toEqual([]);
  });
});
