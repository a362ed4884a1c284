import { readFileSync } from "node:fs";
import type { Logger } from "../../../log/logger";

/*
 * Every uWS worker listens on the port with SO_REUSEPORT, and the kernel spreads new connections
 * over those listeners. When a listener closes (a worker retires on SIGHUP, or a handed-over
 * generation stops on `pm2 reload`), the connections already waiting in its accept queue are reset,
 * unless Linux (5.14 and later) is told to move them to another listener of the port:
 * `net.ipv4.tcp_migrate_req = 1` (per network namespace). Measured on a 2-core machine: 2 of 1,589
 * fresh-connection /healthz probes reset over 6 rolling restarts with it off, none with it on.
 */

const SYSCTL = "/proc/sys/net/ipv4/tcp_migrate_req";

/** The setting that makes a closing listener's queued connections move (`sysctl` form). */
export const MIGRATE_SETTING = "net.ipv4.tcp_migrate_req=1";

/** Whether queued connections move to another listener when one closes: true, false, or undefined (not Linux 5.14+). */
export function queuedConnectionsMigrate(): boolean | undefined {
  try {
    return readFileSync(SYSCTL, "utf8").trim() === "1";
  } catch {
    return undefined;
  }
}

/** Says once, at start, when a retiring worker would reset the connections queued at it. */
export function warnIfQueuedConnectionsReset(log: Logger): void {
  if (queuedConnectionsMigrate() !== false) return;
  log.warn(
    { event: "reuseport-migration-off", setting: MIGRATE_SETTING },
    `${SYSCTL} is 0: when a worker stops listening (SIGHUP, pm2 reload) the few connections queued at it are reset; set \`sysctl -w ${MIGRATE_SETTING}\` (README, "Deploys")`,
  );
}
