import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

/** Every non-test source file under `src/`, relative to it, with its text. */
function sources(dir = path.resolve(__dirname, "..")): Array<{ file: string; text: string }> {
  const root = path.resolve(__dirname, "..");
  const found: Array<{ file: string; text: string }> = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...sources(full));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) {
      found.push({ file: path.relative(root, full), text: readFileSync(full, "utf8") });
    }
  }
  return found;
}

const using = (pattern: RegExp) =>
  sources()
    .filter(({ text }) => pattern.test(text))
    .map(({ file }) => file)
    .sort();

describe("the runtime's shape", () => {
  it("only the IPC layer sends or listens to IPC messages", () => {
    expect(using(/process\.send\b|process\.on\("message"|cluster\.on\("message"|worker\.send\(|\.on\("message", \(message/)).toEqual([
      "runtime/ipc/primary.ts",
      "runtime/ipc/worker.ts",
    ]);
  });

  it("only the internals module names Socket.IO's private members", () => {
    expect(using(/\.onevent\b|\._onerror\b|\._preConnectSockets\b|\._parser\b|\.emitReserved\b|\.reconstructor\b/)).toEqual([
      "runtime/sockets/internals.ts",
    ]);
  });

  it("only the socket pipeline patches Socket.IO's prototypes", () => {
    expect(using(/(Socket|Adapter|Namespace)\.prototype\.\w+ = /)).toEqual(["runtime/sockets/pipeline.ts"]);
  });

  it("only the engines know uWebSockets.js or Node's http server", () => {
    const engineFree = using(/^import (?!type )[^;]*from "(uWebSockets\.js|node:https?)"/m).filter((file) => !file.startsWith("runtime/engines/"));
    expect(engineFree).toEqual([]);
  });

  it("applications know nothing of workers, IPC or uWS", () => {
    expect(using(/from "\.\.\/\.\.\/runtime|node:cluster|uWebSockets\.js/).filter((file) => file.startsWith("app/"))).toEqual([]);
  });
});
