import { afterAll } from "vitest";
import { running } from "./helpers/server";

// a safety net: whatever a failed or timed-out test left running is stopped (by PID) after its file
afterAll(async () => {
  await Promise.all([...running].map((server) => server.stop(5000)));
});
