import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { configTable, withConfigTable } from "./doc";
import { SETTINGS, type Setting } from "./settings";

const README = path.resolve(__dirname, "..", "..", "README.md");
const settings: [string, Setting][] = Object.entries(SETTINGS);

describe("the settings table", () => {
  it("is what README.md's Configuration table shows", () => {
    const readme = fs.readFileSync(README, "utf8");
    expect(readme, "README.md's configuration table differs from src/config/settings.ts: run `npm run docs:config`").toBe(
      withConfigTable(readme),
    );
  });

  it("renders one row per setting under the header", () => {
    const lines = configTable().split("\n");
    expect(lines.slice(0, 2)).toEqual(["| variable | default | meaning |", "| --- | --- | --- |"]);
    expect(lines).toHaveLength(2 + settings.length);
    expect(lines[2]).toBe("| `PORT` | `3000` | TCP port every worker listens on |");
  });

  it("names each variable once", () => {
    const names = settings.map(([, setting]) => setting.env);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(settings)("%s: its default passes its own schema", (_key, setting) => {
    const text = typeof setting.default === "function" ? setting.default() : setting.default;
    expect(setting.schema.safeParse(text).success).toBe(true);
  });

  it("refuses a README without the markers", () => {
    expect(() => withConfigTable("# no table here\n")).toThrow(/config:begin/);
  });
});
