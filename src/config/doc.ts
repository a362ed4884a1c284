import { SETTINGS, type Setting } from "./settings";

/** The README's markers around the generated *Configuration* table. */
export const TABLE_BEGIN = "<!-- config:begin -->";
/** See {@link TABLE_BEGIN}. */
export const TABLE_END = "<!-- config:end -->";

/** A table cell: a `|` inside would end the cell. */
const cell = (text: string) => text.replaceAll("|", "\\|");

/** The *Configuration* table (`variable | default | meaning`), one row per setting, in the order of {@link SETTINGS}. */
export function configTable(): string {
  const rows = Object.values(SETTINGS).map((setting: Setting) => {
    const shownDefault = setting.doc.default ?? `\`${String(setting.default)}\``;
    return `| \`${setting.env}\` | ${cell(shownDefault)} | ${cell(setting.doc.meaning)} |`;
  });
  return ["| variable | default | meaning |", "| --- | --- | --- |", ...rows].join("\n");
}

/**
 * `readme` with the text between {@link TABLE_BEGIN} and {@link TABLE_END} replaced by
 * {@link configTable} (a blank line on either side).
 * @throws Error when the markers are missing or out of order.
 */
export function withConfigTable(readme: string): string {
  const begin = readme.indexOf(TABLE_BEGIN);
  const end = readme.indexOf(TABLE_END);
  if (begin < 0 || end < begin) throw new Error(`README.md needs the markers ${TABLE_BEGIN} and ${TABLE_END}, in this order`);
  return `${readme.slice(0, begin + TABLE_BEGIN.length)}\n\n${configTable()}\n\n${readme.slice(end)}`;
}
