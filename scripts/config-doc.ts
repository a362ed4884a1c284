/**
 * `npm run docs:config`: rewrites the *Configuration* table of README.md (between
 * `<!-- config:begin -->` and `<!-- config:end -->`) from the settings table in
 * `src/config/settings.ts`. `src/config/settings.test.ts` fails while the two differ.
 */
import fs from "node:fs";
import path from "node:path";
import { withConfigTable } from "../src/config/doc";

const README = path.resolve(__dirname, "..", "README.md");

const before = fs.readFileSync(README, "utf8");
const after = withConfigTable(before);
if (after === before) {
  console.log("README.md: configuration table up to date");
} else {
  fs.writeFileSync(README, after);
  console.log("README.md: configuration table rewritten");
}
