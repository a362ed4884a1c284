import { defineConfig } from "vitest/config";

/**
 * The suites start multi-process servers on a 2-core machine. Two lanes run side by side, one file
 * at a time each: `load` holds the files that keep the CPU busy the whole time (the fuzz, the soak,
 * the network faults, the benchmark's smoke run); `integration` holds the rest, which mostly wait
 * (timeouts, heartbeats, child processes starting). Every test asserts what holds whatever the
 * machine's speed or load (README, "Tests"), and the suite is run beside a CPU burner too. Last,
 * alone: a file that rewrites the project (`npm pack` builds dist/), and the official protocol
 * suites, which assume a prompt client: one cancels a poll 5 ms after starting it and expects the
 * server to have closed the session. Beside the load lane it failed once on the Node engine (the
 * next poll got 200): a client that slow may not have sent its poll yet, and no server can close a
 * session for a request it never got. Beside a one-core burner it has passed every run.
 * `npm test` runs the lanes (scripts/test.mjs); a plain `vitest run` runs every file in turn.
 */
const LOAD = ["test/fuzz.test.ts", "test/soak.test.ts", "test/network-faults.test.ts", "test/bench.test.ts"];
const ALONE = ["test/consumer.test.ts", "test/conformance.test.ts"];

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
