import { setupPrimary as setupClusterAdapter } from "@socket.io/cluster-adapter";
import cluster from "node:cluster";
import type { Config } from "../../../config/env";
import type { PrimaryChannel } from "../../ipc/primary";
import type { BackendPrimary } from "../backend";
import { RecoveryLog, type RecoveryLogSnapshot } from "./recovery-log";
import { StateStore } from "./state-store";

/**
 * The cluster backend's primary half, the hub of one machine: `@socket.io/cluster-adapter`'s relay
 * of broadcasts and requests between workers, the shared state (`state:operation`, released when
 * a worker exits), and, with `RECOVERY_WINDOW` > 0, the recovery log (`recovery:*`).
 */
export function startClusterPrimary({ config, channel, handedOver }: { config: Config; channel: PrimaryChannel; handedOver?: unknown }): BackendPrimary {
  setupClusterAdapter();

  const state = new StateStore();
  channel.handle("state:operation", (worker, operation) => state.apply(worker.id, operation));
  channel.onWorkerExit((workerId) => {
    const change = state.releaseWorker(workerId);
    if (change.spaces.length + change.counters.length > 0) channel.broadcast("state:released", { change }, workerId);
  });

  if (config.recoveryWindow === 0) return { handOver: () => undefined };
  const log = new RecoveryLog({
    maxDisconnectionDuration: config.recoveryWindow,
    maxPackets: config.recoveryMaxPackets,
    workerConnected: (id) => cluster.workers?.[id]?.isConnected() === true,
    forward: (nsp, packet, opts, origin, seq, from) => channel.broadcast("recovery:deliver", { nsp, packet, opts, origin, seq }, from),
    ended: (origin, final) => channel.broadcast("recovery:ended", { origin, final }),
    evict: (id, nsp, sid) => {
      const worker = cluster.workers?.[id];
      if (worker) channel.send(worker, "recovery:evict", { nsp, sid });
    },
  }, (handedOver as { recovery?: RecoveryLogSnapshot } | undefined)?.recovery);
  channel.handle("recovery:join", (worker) => log.join(worker.id));
  channel.on("recovery:broadcast", (worker, { nsp, packet, opts, seq }) => log.broadcast(worker.id, nsp, packet, opts, seq));
  channel.on("recovery:session", (worker, { nsp, session, seen }) => log.connected(worker.id, nsp, session, seen));
  channel.on("recovery:persist", (worker, { nsp, session }) => log.disconnected(worker.id, nsp, session));
  channel.on("recovery:forget", (worker, { nsp, sid }) => log.forget(worker.id, nsp, sid));
  channel.handle("recovery:restore", (worker, { nsp, pid, offset }) => log.restoreWhenReady(nsp, pid, offset, worker.id));
  // a worker's origin ends once its channel closed (everything it sent was read), or at its exit
  cluster.on("disconnect", (worker) => log.workerDisconnected(worker.id));
  channel.onWorkerExit((workerId) => log.workerDied(workerId));
  return { handOver: () => ({ recovery: log.snapshot() }) };
}
