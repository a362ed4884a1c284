import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { chatClient } from "./helpers/chat";
import { eventually } from "./helpers/clients";
import { ROOT, startServer } from "./helpers/server";
import { ENGINES } from "./helpers/engines";

/** Every `createDebug("…")` namespace in `src/`. */
function namespacesInSource(dir = path.join(ROOT, "src")): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...namespacesInSource(file));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) {
      for (const match of readFileSync(file, "utf8").matchAll(/createDebug\("([^"]+)"\)/g)) found.push(match[1]!);
    }
  }
  return found;
}

describe("debugging", () => {
  it.each(ENGINES)("DEBUG namespaces of Socket.IO, Engine.IO and the runtime print on the server (ENGINE=%s)", async (engine) => {
    const server = await startServer({
      workers: 2,
      engine,
      app: "chat",
      env: { DEBUG: "socket.io:socket,engine,runtime:*", DEBUG_COLORS: "0" },
    });
    try {
      const client = await chatClient(server.url);
      client.socket.emit("clientEvent", "debug me");
      const text = () => server.stderr.join("");
      await eventually(() => /socket\.io:socket/.test(text()) && /\bengine\b/.test(text()), 30_000, "debug output");
      expect(text()).toMatch(/socket\.io:socket .*(join|emitting|got packet)/);
      if (engine === "uws") await eventually(() => /runtime:uws/.test(text()), 30_000, "runtime debug output");
      else await eventually(() => /runtime:node/.test(text()), 30_000, "runtime debug output");
      client.socket.close();
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it("the README lists every runtime debug namespace", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const missing = namespacesInSource().filter((name) => name.startsWith("runtime:") && !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
