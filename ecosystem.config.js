// pm2 process file: `npx pm2 start ecosystem.config.js --env production` (see docs/pm2.md).
//
// One pm2 process in fork mode runs the primary, which owns the cluster: it forks WORKERS
// workers, routes sessions, relays the cluster adapter and drains. pm2's own cluster mode is not
// used: pm2 would be the cluster primary, so neither our sticky routing nor the cluster adapter's
// primary side would run.
//
// Environment read here (from the shell that runs pm2): PORT, WORKERS, and every other runtime
// variable (APP, HOST, LOG_LEVEL, ...) pass through to the app; SHUTDOWN_TIMEOUT also sets
// kill_timeout; MAX_MEMORY_RESTART (default 1G) sets max_memory_restart; PM2_LOG_DIR moves the log
// files (default: ./logs). The options themselves are the package's (src/pm2/process-file.ts,
// `require("uws-socketio-cluster/pm2")` in a project that installed it; see docs/pm2.md).
"use strict";

const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = __dirname;
const MAIN = path.join(ROOT, "dist", "main.js");

/** Newest modification time (ms) of the build's inputs: src/**.ts (not tests), tsconfig.json. */
function newestSource(dir = path.join(ROOT, "src")) {
  let newest = fs.statSync(path.join(ROOT, "tsconfig.json")).mtimeMs;
  const walk = (folder) => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      const file = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) {
        newest = Math.max(newest, fs.statSync(file).mtimeMs);
      }
    }
  };
  walk(dir);
  return newest;
}

/**
 * pm2 has no build step: when this file is loaded to start or reload the app, compile `src/` to
 * `dist/` (`tsc -p .`, what `npm run build` does) if dist/main.js is missing or older than a
 * source. So `npm install && npx pm2 start ecosystem.config.js --env production` works as is, and
 * `pm2 reload ecosystem.config.js` after a `git pull` runs the new code.
 */
function ensureBuilt() {
  const command = process.argv.slice(2).find((arg) => !arg.startsWith("-"));
  if (["stop", "delete", "del", "kill"].includes(command)) return;
  const built = fs.existsSync(MAIN) ? fs.statSync(MAIN).mtimeMs : 0;
  if (built !== 0 && (!fs.existsSync(path.join(ROOT, "src")) || built >= newestSource())) return;
  let tsc;
  try {
    const manifest = require.resolve("typescript/package.json", { paths: [ROOT] });
    const { bin } = require(manifest);
    tsc = path.join(path.dirname(manifest), typeof bin === "string" ? bin : bin.tsc);
  } catch {
    if (built !== 0) {
      process.stderr.write("ecosystem.config.js: dist/ is older than src/ but typescript is not installed; using dist/ as is\n");
      return;
    }
    throw new Error("dist/main.js is missing and typescript is not installed: run `npm install` then `npm run build`");
  }
  process.stderr.write("ecosystem.config.js: building dist/ (tsc -p .)\n");
  try {
    execFileSync(process.execPath, [tsc, "-p", ROOT], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
  } catch (err) {
    const output = `${err.stdout ?? ""}${err.stderr ?? ""}`.trim();
    throw new Error(`the build failed (tsc -p .):\n${output || err.message}`);
  }
}

ensureBuilt();

// the options, shared with the package's `uws-socketio-cluster/pm2` (src/pm2/process-file.ts)
const { pm2App } = require(path.join(ROOT, "dist", "pm2", "process-file.js"));

module.exports = { apps: [pm2App({ name: "socketio-runtime", cwd: ROOT, script: MAIN, args: [] })] };
