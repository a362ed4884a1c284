import type { BenchResults, RatioRow, ScenarioResults, TargetCheck } from "./results";

const row = (rows: RatioRow[], metric: string) => rows.find((r) => r.metric === metric);

function ratioTarget(
  rows: RatioRow[],
  id: string,
  description: string,
  metric: string,
  test: (ratio: number) => boolean,
  threshold: string,
): TargetCheck {
  const r = row(rows, metric);
  const ratio = r?.ratios.product ?? null;
  const saturated = r?.saturated.filter((s) => s === "product" || s === "recipe") ?? [];
  const detail =
    ratio == null
      ? "not measured (needs the product and the recipe in the same run)"
      : `product ${r!.values.product} ${r!.unit}, recipe ${r!.values.recipe} ${r!.unit}` +
        (saturated.length ? `; generator saturated for ${saturated.join(", ")}: the ratio may understate the faster system` : "");
  return { id, description, value: ratio, threshold, met: ratio == null ? null : test(ratio), detail };
}

/** The issue's targets, checked against this run's figures. */
export function checkTargets(rows: RatioRow[], scenarios: ScenarioResults, options: BenchResults["options"]): TargetCheck[] {
  const fanout = row(rows, "Fan-out io.emit: delivered");
  const product = fanout?.values.product;
  const raw = fanout?.values.raw;
  const rawGap = product && raw ? Math.round((raw / product) * 100) / 100 : null;
  const hold = scenarios.hold?.product;
  const holdData = hold && hold.ok ? hold.data : undefined;
  const fullHold = options.holdClients >= 50_000 && options.holdSeconds >= 60;
  return [
    ratioTarget(rows, "fanout-vs-recipe", "Broadcast fan-out ≥ 3× the recipe", "Fan-out io.emit: delivered", (x) => x >= 3, "≥ 3×"),
    {
      id: "fanout-vs-raw",
      description: "Broadcast fan-out within 1.5× of raw uWS publish",
      value: rawGap,
      threshold: "raw ÷ product ≤ 1.5",
      met: rawGap == null ? null : rawGap <= 1.5,
      detail:
        rawGap == null
          ? "not measured (needs the product and raw uWS)"
          : `raw ${raw} msg/s, product ${product} msg/s` +
            (fanout!.saturated.length ? `; generator saturated for ${fanout!.saturated.join(", ")}` : ""),
    },
    ratioTarget(rows, "echo-throughput", "Echo throughput ≥ 1.5× the recipe", "Echo: max throughput", (x) => x >= 1.5, "≥ 1.5×"),
    ratioTarget(rows, "echo-p99", "p99 echo latency at 50% of the recipe's max rate ≤ 0.5× the recipe", "Echo p99 at 50% of recipe max", (x) => x <= 0.5, "≤ 0.5×"),
    ratioTarget(rows, "rss-per-connection", "Server RSS per idle WebSocket connection ≤ 0.5× the recipe", "RSS per idle WebSocket connection", (x) => x <= 0.5, "≤ 0.5×"),
    {
      id: "hold-50k",
      description: "50,000 concurrent WebSocket connections held for 60 s, every one receiving a broadcast",
      value: holdData ? holdData.openAtEnd : null,
      threshold: "50,000 for 60 s, all receive",
      met: holdData && fullHold ? holdData.everyoneReceived : null,
      detail: holdData
        ? `${holdData.openAtEnd} of ${holdData.clients} open after ${holdData.heldSeconds} s on ${holdData.workers} workers, ` +
          `${holdData.broadcasts.map((b) => `${b.at}: ${b.delivered}/${b.expected} in ${b.seconds} s`).join(", ")}` +
          (fullHold ? "" : " (a smaller hold than the target's: see --hold-clients / --hold-seconds)")
        : hold && !hold.ok
          ? `not run: ${"skipped" in hold ? hold.skipped : hold.error}`
          : "not run",
    },
  ];
}
