import path from "node:path";
import type { EntryName } from "../lib/compile";
import { launch, runningSystem } from "./launch";
import type { RunningSystem, StartContext } from "./types";

/** Starts one of the bench's own servers (bench/servers/) and reads its PIDs from its ready line. */
export async function startBaseline(
  entry: EntryName,
  { root, scripts, port, workers, nodeArgs }: StartContext,
  serverWorkers: number,
): Promise<RunningSystem> {
  const launched = launch(scripts.file(entry), {
    ...scripts.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    WORKERS: String(workers),
    PUBLIC_DIR: path.join(root, "public"),
    NODE_OPTIONS: `--require ${scripts.file("gcHook")}`,
  }, nodeArgs);
  const ready = await launched.waitFor((line) => line.event === "listen", 30_000);
  const pids = ready.pids as number[];
  const system = runningSystem(launched, port, serverWorkers, async () => pids);
  await system.pids();
  return system;
}
