import { Counter, type Registry } from "prom-client";

/**
 * A counter whose value is read from a plain number at scrape time: the code that counts only
 * increments a field, nothing touches prom-client on the hot path.
 */
export function scrapedCounter(registry: Registry, name: string, help: string, read: () => number): Counter {
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
