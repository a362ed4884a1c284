/**
 * Renders latest.md and latest.svg again from a folder's latest.json (after a change to the
 * report code, without running the benchmark again):  npx tsx bench/report/render.ts [DIR]
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { writeChart } from "./chart";
import { writeMarkdown } from "./markdown";
import type { BenchResults } from "./results";

const dir = path.resolve(process.argv[2] ?? path.join(__dirname, "..", "results"));
const results = JSON.parse(readFileSync(path.join(dir, "latest.json"), "utf8")) as BenchResults;
writeChart(path.join(dir, "latest.svg"), results);
writeMarkdown(path.join(dir, "latest.md"), results, "latest.svg");
process.stdout.write(`rendered ${path.join(dir, "latest.md")} and latest.svg\n`);
