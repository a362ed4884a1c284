import { defineConfig } from "vitest/config";

/**
 * The suites start multi-process servers on a 2-core machine. Two lanes run side by side, one file
 * at a time each: `load` holds files that keep the CPU busy (the fuzz, the network faults, the
 * benchmark's smoke run) and slow attacks (which wait on timeouts); `integration` holds the rest,
 * which mostly wait (timeouts, heartbeats, child processes starting). Every test asserts what holds
 * whatever the machine's speed or load (README, "Tests"), and the suite runs beside a CPU burner
 * too. Then, one at a time with nothing beside them (`alone`):
 * - the package test: `npm pack` rebuilds dist/, which the other files' servers run from;
 * - the soak: 2,000 clients and 5 SIGKILLs. Shortened to 60 s (a 15 s recovery window) beside
 *   the other lane and a one-core burner, 923 of 2,000 clients got a new session once: it measures
 *   recovery through crashes, not through an overloaded machine;
 * - the official protocol suites, which assume a prompt client: one cancels a poll 5 ms after
 *   starting it and expects the server to have closed the session. Beside the load lane that
 *   failed once on the Node engine (the next poll got 200): a client that slow may not have sent
 *   its poll yet, and no server can close a session for a request it never got.
 * `npm test` runs the lanes (scripts/test.mjs); a plain `vitest run` runs every file in turn.
 */
const LOAD = ["test/fuzz.test.ts", "test/network-faults.test.ts", "test/bench.test.ts", "test/slow-attacks.test.ts"];
const ALONE = ["test/consumer.test.ts", "test/soak.test.ts", "test/conformance.test.ts"];

export default defineConfig({
  test: {
    setupFiles: ["test/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ["default"],
    projects: [
      { extends: true, test: { name: "load", include: LOAD, fileParallelism: false } },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["src/**/*.test.ts", "test/**/*.test.ts"],
          exclude: [...LOAD, ...ALONE],
          fileParallelism: false,
        },
      },
      { extends: true, test: { name: "alone", include: ALONE, fileParallelism: false } },
    ],
  },
});
