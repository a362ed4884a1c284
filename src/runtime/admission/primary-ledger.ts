import createDebug from "debug";
import cluster, { type Worker } from "node:cluster";
import type { Config } from "../../config/env";
import { AddressLimits } from "./address-limits";
import type { AdmissionWorkerToPrimary, AdmitReply } from "./messages";

const debug = createDebug("runtime:admission:primary");

/** How often addresses with nothing left to count are forgotten (ms). */
const SWEEP_MS = 10_000;

/** Whether any per-address limit is on (otherwise nobody asks the primary). */
export function addressLimitsEnabled(config: Pick<Config, "maxConnectionsPerIp" | "connectionRate">): boolean {
  return config.maxConnectionsPerIp > 0 || config.connectionRate > 0;
}

/**
 * The primary's side of the per-address limits: one {@link AddressLimits} for the machine,
 * answering the workers' `rt:admit` and applying their `rt:admit-changes`; a worker's sessions
 * are released when it exits (SIGKILL included). With `ADAPTER=redis` the counts are per
 * machine, not across machines.
 */
export function serveAddressLimits(config: Pick<Config, "maxConnectionsPerIp" | "connectionRate" | "connectionBurst">): () => void {
  const limits = new AddressLimits({
    maxPerAddress: config.maxConnectionsPerIp,
    rate: config.connectionRate,
    burst: config.connectionBurst,
  });
  const onMessage = (worker: Worker, message: unknown) => {
    const typed = message as AdmissionWorkerToPrimary | undefined;
    if (typed?.type === "rt:admit") {
      if (!Array.isArray(typed.addresses)) return;
      const now = Date.now();
      const verdicts = typed.addresses.map((address) => {
        const verdict = limits.admit(worker.id, address, now);
        if (!verdict.ok) debug("refused %s from worker %d: %s", address, worker.id, verdict.reason);
        return verdict;
      });
      const reply: AdmitReply = { type: "rt:admit-reply", id: typed.id, verdicts };
      if (worker.isConnected()) worker.send(reply);
    } else if (typed?.type === "rt:admit-changes") {
      if (!Array.isArray(typed.changes)) return;
      const now = Date.now();
      for (const [address, delta] of typed.changes) {
        if (delta === 1) limits.hold(worker.id, address, now);
        else limits.release(worker.id, address, now);
      }
    }
  };
  const onExit = (worker: Worker) => {
    const released = limits.releaseWorker(worker.id, Date.now());
    if (released > 0) debug("worker %d exited: released %d sessions", worker.id, released);
  };
  cluster.on("message", onMessage);
  cluster.on("exit", onExit);
  const sweeper = setInterval(() => limits.sweep(Date.now()), SWEEP_MS).unref();
  return () => {
    clearInterval(sweeper);
    cluster.off("message", onMessage);
    cluster.off("exit", onExit);
  };
}
