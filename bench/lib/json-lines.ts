import type { Readable } from "node:stream";

/**
 * Follows a process's stdout of JSON lines (the runtime's log records): `onRecord` gets each line
 * that parses as a JSON object, `onOther` each line that does not. Used by the benchmark's and
 * the tests' process launchers.
 */
export function followJsonLines(
  stream: Readable,
  onRecord: (record: Record<string, unknown>) => void,
  onOther: (line: string) => void = () => undefined,
): void {
  let buffer = "";
  stream.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf("\n")) !== -1) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        onOther(line);
        continue;
      }
      if (record !== null && typeof record === "object") onRecord(record as Record<string, unknown>);
      else onOther(line);
    }
  });
}
