import createDebug from "debug";
import type { Config } from "../../config/env";
import type { PrimaryChannel } from "../ipc/primary";
import { AddressLimits } from "./address-limits";

const debug = createDebug("runtime:admission:primary");

/** How often addresses with nothing left to count are forgotten (ms). */
const SWEEP_MS = 10_000;

/** Whether any per-address limit is on (otherwise nobody asks the primary). */
export function addressLimitsEnabled(config: Pick<Config, "maxConnectionsPerIp" | "connectionRate">): boolean {
  return config.maxConnectionsPerIp > 0 || config.connectionRate > 0;
}

/**
 * The primary's half of admission: one {@link AddressLimits} for the machine, answering the
 * workers' `admission:admit` and applying their `admission:changes`; a worker's sessions are
 * released when it exits (SIGKILL included). With `ADAPTER=redis` the counts are per machine,
 * not across machines.
 */
export function startAdmissionPrimary(config: Config, channel: PrimaryChannel): void {
  if (!addressLimitsEnabled(config)) return;
  const limits = new AddressLimits({
    maxPerAddress: config.maxConnectionsPerIp,
    rate: config.connectionRate,
    burst: config.connectionBurst,
  });
  channel.handle("admission:admit", (worker, { addresses }) => {
    const now = Date.now();
    return (Array.isArray(addresses) ? addresses : []).map((address) => {
      const verdict = limits.admit(worker.id, address, now);
      if (!verdict.ok) debug("refused %s from worker %d: %s", address, worker.id, verdict.reason);
      return verdict;
    });
  });
  channel.on("admission:changes", (worker, { changes }) => {
    if (!Array.isArray(changes)) return;
    const now = Date.now();
    for (const [address, delta] of changes) {
      if (delta === 1) limits.hold(worker.id, address, now);
      else limits.release(worker.id, address, now);
    }
  });
  channel.onWorkerExit((workerId) => {
    const released = limits.releaseWorker(workerId, Date.now());
    if (released > 0) debug("worker %d exited: released %d sessions", workerId, released);
  });
  setInterval(() => limits.sweep(Date.now()), SWEEP_MS).unref();
}
