/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed exposition: its samples and the declared type of each family. */
export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+-?\d+)?$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(text: string, line: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  const value = Number(text);
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text) || Number.isNaN(value)) {
    throw new Error(`bad value in: ${line}`);
  }
  return value;
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const match = LABEL.exec(rest);
    if (!match) throw new Error(`bad labels in: ${line}`);
    const [all, key, raw] = match;
    if (key! in labels) throw new Error(`duplicate label ${key} in: ${line}`);
    labels[key!] = raw!.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
    rest = rest.slice(all.length);
  }
  return labels;
}

/** The family a sample belongs to (`x_bucket`, `x_sum`, `x_count` belong to histogram `x`). */
function familyOf(name: string, types: Map<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (types.get(base) === "histogram" || types.get(base) === "summary") return base;
    }
  }
  return undefined;
}

/**
 * Parses a Prometheus text exposition (format 0.0.4) strictly: every line is a comment, a
 * `# HELP` / `# TYPE`, or `name{labels} value`; each family is typed once, before its samples;
 * no series appears twice. Throws on the first violation.
 */
export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const seen = new Set<string>();
  const sampled = new Set<string>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const parts = line.split(" ");
      if (parts[1] === "TYPE") {
        const [, , name, type] = parts;
        if (!name || !NAME.test(name) || !type || !TYPES.has(type) || parts.length !== 4) {
          throw new Error(`bad TYPE line: ${line}`);
        }
        if (types.has(name)) throw new Error(`second TYPE line for ${name}`);
        if (sampled.has(name)) throw new Error(`TYPE after samples for ${name}`);
        types.set(name, type);
      } else if (parts[1] === "HELP") {
        if (!parts[2] || !NAME.test(parts[2])) throw new Error(`bad HELP line: ${line}`);
      }
      continue;
    }
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample: ${line}`);
    const [, name, labelText, valueText] = match;
    const labels = labelText ? parseLabels(labelText, line) : {};
    const family = familyOf(name!, types);
    if (!family) throw new Error(`sample of an untyped family: ${line}`);
    sampled.add(family);
    const key = `${name}{${Object.entries(labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(",")}}`;
    if (seen.has(key)) throw new Error(`duplicate series ${key}`);
    seen.add(key);
    samples.push({ name: name!, labels, value: parseValue(valueText!, line) });
  }
  return { samples, types };
}

/** The samples named `name` whose labels include `where`. */
export function select(exposition: Exposition, name: string, where: Record<string, string> = {}): Sample[] {
  return exposition.samples.filter(
    (sample) => sample.name === name && Object.entries(where).every(([key, value]) => sample.labels[key] === value),
  );
}

/** The sum of the samples named `name` whose labels include `where`. */
export function total(exposition: Exposition, name: string, where: Record<string, string> = {}): number {
  return select(exposition, name, where).reduce((sum, sample) => sum + sample.value, 0);
}
