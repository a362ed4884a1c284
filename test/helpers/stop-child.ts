import type { ChildProcess } from "node:child_process";
import { signal } from "../../bench/lib/processes";

/**
 * Stops a process the test started: SIGTERM, then its exit code (`exited`). If it has not exited
 * after `timeoutMs`, SIGKILL to it and to `pids` (its workers), each by PID.
 */
export async function stopChild(child: ChildProcess, exited: Promise<number | null>, pids: number[], timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill("SIGTERM");
  const timer = setTimeout(() => {
    for (const pid of [child.pid, ...pids]) if (pid !== undefined) signal(pid, "SIGKILL");
  }, timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}
