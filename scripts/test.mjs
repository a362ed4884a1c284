// `npm test`: the whole suite in two lanes side by side, then the files that must run alone.
//
// Vitest runs one group of files with one worker count; it has no "two lanes, one file at a time
// each". The lanes are the projects of vitest.config.mts: `load` (files that keep the CPU busy the
// whole time) beside `integration` (files that mostly wait), then `alone` (a file that rebuilds
// dist/). Each lane is a vitest process; their output is passed on a whole line at a time.
//
// With arguments (`npm test -- test/chat.test.ts`, `npm test -- -t name`) this is plain
// `vitest run` with them: the files named run one after the other.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const VITEST = path.join(ROOT, "node_modules", "vitest", "vitest.mjs");
const children = new Set();

/** Runs `vitest run ...args`; its output goes to ours a line at a time. Resolves with its exit code. */
function vitest(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [VITEST, "run", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    for (const [from, to] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ]) {
      let rest = "";
      from.setEncoding("utf8");
      from.on("data", (chunk) => {
        const text = rest + chunk;
        const end = text.lastIndexOf("\n") + 1;
        if (end > 0) to.write(text.slice(0, end));
        rest = text.slice(end);
      });
      from.on("end", () => rest && to.write(rest + "\n"));
    }
    child.on("close", (code, signal) => {
      children.delete(child);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const child of children) child.kill(signal);
    process.exitCode = 1;
  });
}

const args = process.argv.slice(2);
if (args.length > 0) {
  process.exitCode = await vitest(args);
} else {
  const started = Date.now();
  const lanes = await Promise.all([vitest(["--project", "load"]), vitest(["--project", "integration"])]);
  const alone = await vitest(["--project", "alone"]);
  const codes = [...lanes, alone];
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(`\nnpm test: ${codes.every((c) => c === 0) ? "all lanes passed" : "FAILED"} (load ${lanes[0]}, integration ${lanes[1]}, alone ${alone}) in ${seconds} s`);
  process.exitCode = codes.find((c) => c !== 0) ?? 0;
}
