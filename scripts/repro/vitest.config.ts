import { defineConfig } from "vitest/config";

// Reproducers of rare faults: loops that run until they see the fault or finish their rounds; never
// part of `npm test` (their verdict is a count over many rounds). `npm run build` first.
export default defineConfig({
  test: { include: ["scripts/repro/**/*.test.ts"], setupFiles: ["test/setup.ts"], testTimeout: 3_600_000 },
});
