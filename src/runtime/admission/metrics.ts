import { Counter, type Registry } from "prom-client";
import { refusalCounts, type RefusalReason } from "./refusal";

/**
 * `runtime_admission_refused_total{reason}`: requests refused at the door, by reason (`origin`,
 * `connections_per_ip`, `connection_rate`). Read at scrape time from {@link refusalCounts}.
 */
export function registerAdmissionMetrics(registry: Registry): void {
  new Counter({
    name: "runtime_admission_refused_total",
    help: "Requests refused by admission control: origin not allowed, too many sessions from one address, new-session rate exceeded",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, count] of Object.entries(refusalCounts) as Array<[RefusalReason, number]>) this.inc({ reason }, count);
    },
  });
}
