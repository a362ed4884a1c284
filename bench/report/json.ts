import { writeFileSync } from "node:fs";
import type { BenchResults } from "./results";

/** `latest.json`: every figure of the run, the machine, the options and the target checks. */
export function writeJson(file: string, results: BenchResults): void {
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}
