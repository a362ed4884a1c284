import { describe, expect, it } from "vitest";
import { chatClient } from "./helpers/chat";
import { eventually } from "./helpers/clients";
import { startServer } from "./helpers/server";

describe("debugging", () => {
  it.each(["uws", "node"] as const)("DEBUG namespaces of Socket.IO, Engine.IO and the runtime print on the server (ENGINE=%s)", async (engine) => {
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
});
