import { io, type Socket } from "socket.io-client";
import { expect, it } from "vitest";
import { startServer } from "../../test/helpers/server";

/**
 * The Node engine's lost first frame (fixed: src/runtime/engines/node/stop-reading.ts): ROUNDS times,
 * a fresh 4-worker `ENGINE=node` server, 20 default clients then 20 WebSocket-only clients at once;
 * a client whose engine opened but whose `connect` never came within 21 s counts as stuck.
 *   npm run build && ROUNDS=150 npx vitest run --config scripts/repro/vitest.config.ts
 * Measured beside `stress-ng --cpu 2`: 3 rounds with a stuck client in 140 before the fix, 0 in 250 after.
 */
const ROUNDS = Number(process.env.ROUNDS ?? 20);
const reconnecting = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500 };

/** Resolves with the client once connected, or with what it saw when it was not within 21 s. */
function connect(url: string, options: object): Promise<{ socket: Socket; stuck?: string }> {
  const socket = io(url, { forceNew: true, timeout: 20_000, ...options });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      const engine = socket.io.engine;
      resolve({ socket, stuck: engine ? `engine ${engine.id ?? "not open"} on ${engine.transport?.name}, no connect` : "no engine" });
    }, 21_000);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve({ socket });
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      resolve({ socket, stuck: `connect_error ${err.message}` });
    });
  });
}

it(`${ROUNDS} rounds of 20 default and 20 WebSocket-only connects to a fresh ENGINE=node server`, async () => {
  const stuckRounds: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const server = await startServer({ workers: 4, engine: "node" });
    try {
      const results = [
        ...(await Promise.all(Array.from({ length: 20 }, () => connect(server.url, reconnecting)))),
        ...(await Promise.all(Array.from({ length: 20 }, () => connect(server.url, { transports: ["websocket"], ...reconnecting })))),
      ];
      for (const { socket } of results) socket.close();
      const stuck = results.flatMap((r) => (r.stuck ? [r.stuck] : []));
      if (stuck.length > 0) stuckRounds.push(`round ${round}: ${stuck.join("; ")}`);
    } finally {
      await server.stop();
    }
  }
  console.log(`${stuckRounds.length} of ${ROUNDS} rounds had a stuck client${stuckRounds.length ? `:\n${stuckRounds.join("\n")}` : ""}`);
  expect(stuckRounds).toEqual([]);
});
