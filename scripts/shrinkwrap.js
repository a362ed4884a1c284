// `npm pack` (prepack / postpack): ships the exact dependency tree of package-lock.json in the
// tarball as npm-shrinkwrap.json, npm's way to pin a package's dependencies where it is installed,
// so that a project installing the tarball gets the versions this repository is tested with, not
// the registry's latest within each range. Development-only entries are left out (an installed
// package never gets its development dependencies). `--remove` deletes the file after packing:
// the repository keeps package-lock.json only.
//
// The repository's lock names no registry (npm's omit-lockfile-registry-resolved); the shrinkwrap
// gives each package its tarball's address on the registry npm is configured with, so that an
// install finds every tarball by address and integrity, in npm's cache when it is there (offline).
"use strict";

const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const SHRINKWRAP = path.join(ROOT, "npm-shrinkwrap.json");

if (process.argv.includes("--remove")) {
  fs.rmSync(SHRINKWRAP, { force: true });
} else {
  const configured = process.env.npm_config_registry || execFileSync("npm", ["config", "get", "registry"], { encoding: "utf8" }).trim();
  const registry = configured.endsWith("/") ? configured : `${configured}/`;
  /** `<registry><name>/-/<name without scope>-<version>.tgz`, where npm publishes a version's tarball. */
  const tarball = (location, entry) => {
    const name = entry.name ?? location.slice(location.lastIndexOf("node_modules/") + "node_modules/".length);
    return `${registry}${name}/-/${name.split("/").pop()}-${entry.version}.tgz`;
  };
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8"));
  const packages = {};
  for (const [location, entry] of Object.entries(lock.packages)) {
    if (location === "") {
      const { devDependencies: _dev, ...root } = entry;
      packages[location] = root;
    } else if (!entry.dev) {
      packages[location] = entry.link || entry.resolved ? entry : { ...entry, resolved: tarball(location, entry) };
    }
  }
  fs.writeFileSync(SHRINKWRAP, `${JSON.stringify({ ...lock, packages }, null, 2)}\n`);
}
