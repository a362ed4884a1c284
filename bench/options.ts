import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { SYSTEM_NAMES, type SystemName } from "./systems/types";

export const SCENARIO_NAMES = ["ramp", "echo", "fanout", "rooms", "cross", "http", "hold"] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface BenchOptions {
  mode: "full" | "quick" | "smoke";
  systems: SystemName[];
  scenarios: ScenarioName[];
  /** Server workers (processes) for every multi-process system. */
  workers: number;
  /** Load-generator processes. */
  generators: number;
  /** Connection ramp: clients per ramp (WebSocket-only and default polling→upgrade). */
  clients: number;
  /** Echo: connections, and echoes each keeps in flight at max rate. */
  echoConnections: number;
  echoWindow: number;
  /** Open-loop echo rates, as fractions of the recipe's max echo rate. */
  echoFractions: number[];
  /** Broadcast fan-out: receivers, rooms, and shouts the sender keeps in flight. */
  receivers: number;
  rooms: number;
  fanoutWindow: number;
  /** Fixed-rate broadcast phase: fraction of the recipe's max shout rate (0: skip). */
  broadcastFraction: number;
  /** Measured seconds of each load phase; warm-up seconds before it. */
  duration: number;
  warmup: number;
  /** HTTP: autocannon connections and seconds per endpoint. */
  httpConnections: number;
  httpDuration: number;
  /** Hold: concurrent WebSocket connections and seconds held. */
  holdClients: number;
  holdSeconds: number;
  /** Systems that run the hold scenario. */
  holdSystems: SystemName[];
  out: string;
  progress: boolean;
  /** Extra environment for the product (`--product-env KEY=VALUE`, repeatable), e.g. RECOVERY_WINDOW=0. */
  productEnv: Record<string, string>;
  /** Write V8 CPU profiles of every server process into this folder (`--cpu-prof`). */
  cpuProf: string | undefined;
  /** A client not connected after this long (ms) counts as failed. */
  connectTimeoutMs: number;
  /** Pause after closing connections, before the next measurement (ms). */
  settleMs: number;
}

const PRESETS: Record<BenchOptions["mode"], Omit<BenchOptions, "mode" | "systems" | "scenarios" | "workers" | "generators" | "out" | "progress" | "cpuProf" | "productEnv">> = {
  full: {
    clients: 10_000,
    echoConnections: 100,
    echoWindow: 4,
    echoFractions: [0.5, 0.75, 1],
    receivers: 1000,
    rooms: 100,
    fanoutWindow: 128,
    broadcastFraction: 0.5,
    duration: 8,
    warmup: 1,
    httpConnections: 64,
    httpDuration: 5,
    holdClients: 50_000,
    holdSeconds: 60,
    holdSystems: ["product", "recipe"],
    settleMs: 1000,
    connectTimeoutMs: 10_000,
  },
  quick: {
    clients: 500,
    echoConnections: 50,
    echoWindow: 4,
    echoFractions: [0.5],
    receivers: 200,
    rooms: 20,
    fanoutWindow: 64,
    broadcastFraction: 0.5,
    duration: 1,
    warmup: 0.3,
    httpConnections: 32,
    httpDuration: 0.4,
    holdClients: 2000,
    holdSeconds: 2,
    holdSystems: ["product"],
    settleMs: 500,
    connectTimeoutMs: 5000,
  },
  smoke: {
    clients: 40,
    echoConnections: 8,
    echoWindow: 2,
    echoFractions: [0.5],
    receivers: 20,
    rooms: 4,
    fanoutWindow: 8,
    broadcastFraction: 0.5,
    duration: 0.5,
    warmup: 0.1,
    httpConnections: 8,
    httpDuration: 0.3,
    holdClients: 50,
    holdSeconds: 1,
    holdSystems: ["product"],
    settleMs: 100,
    connectTimeoutMs: 5000,
  },
};

const HELP = `npm run bench -- [options]

  --quick                 small N, short phases: under 2 minutes
  --smoke                 tiny N (the test suite's check that the harness works)
  --systems LIST          product,recipe,single,raw (default: all)
  --scenarios LIST        ramp,echo,fanout,rooms,cross,http,hold (default: all)
  --workers N             server workers (default: cores = ${os.availableParallelism()})
  --generators N          load-generator processes (default: cores)
  --clients N             connection ramp: clients per ramp
  --connections N         echo: connections
  --receivers N           broadcast scenarios: receivers
  --rooms N               rooms scenario: number of rooms
  --duration S            measured seconds per load phase
  --window N              broadcast scenarios: shouts the sender keeps in flight
  --hold-clients N        hold: concurrent WebSocket connections (full: 50000)
  --hold-seconds S        hold: seconds held (full: 60)
  --hold-systems LIST     systems that run the hold scenario (full: product,recipe)
  --out DIR               where results go (default: bench/results)
  --product-env KEY=VALUE extra environment for the product (repeatable), e.g. RECOVERY_WINDOW=0
  --cpu-prof DIR          V8 CPU profiles of every server process, one folder per system and
                          scenario group (summarize: npx tsx bench/profile.ts DIR/<system>-…)
  --no-progress           no live progress line
  --help
`;

function list<T extends string>(value: string | undefined, allowed: readonly T[], fallback: T[], what: string): T[] {
  if (value === undefined) return fallback;
  const items = value.split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!allowed.includes(item as T)) throw new Error(`unknown ${what} "${item}" (allowed: ${allowed.join(", ")})`);
  }
  return items as T[];
}

function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} needs a positive number, got "${value}"`);
  return n;
}

export function parseOptions(argv: string[], benchDir: string): BenchOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean" },
      smoke: { type: "boolean" },
      systems: { type: "string" },
      scenarios: { type: "string" },
      workers: { type: "string" },
      generators: { type: "string" },
      clients: { type: "string" },
      connections: { type: "string" },
      receivers: { type: "string" },
      rooms: { type: "string" },
      duration: { type: "string" },
      window: { type: "string" },
      "hold-clients": { type: "string" },
      "hold-seconds": { type: "string" },
      "hold-systems": { type: "string" },
      out: { type: "string" },
      "cpu-prof": { type: "string" },
      "product-env": { type: "string", multiple: true },
      "no-progress": { type: "boolean" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help) return "help";
  const mode = values.smoke ? "smoke" : values.quick ? "quick" : "full";
  const preset = PRESETS[mode];
  const cores = os.availableParallelism();
  const duration = positive(values.duration, "duration") ?? preset.duration;
  return {
    ...preset,
    mode,
    systems: list(values.systems, SYSTEM_NAMES, [...SYSTEM_NAMES], "system"),
    scenarios: list(values.scenarios, SCENARIO_NAMES, [...SCENARIO_NAMES], "scenario"),
    workers: Math.round(positive(values.workers, "workers") ?? cores),
    generators: Math.round(positive(values.generators, "generators") ?? Math.max(2, cores)),
    clients: Math.round(positive(values.clients, "clients") ?? preset.clients),
    echoConnections: Math.round(positive(values.connections, "connections") ?? preset.echoConnections),
    receivers: Math.round(positive(values.receivers, "receivers") ?? preset.receivers),
    rooms: Math.round(positive(values.rooms, "rooms") ?? preset.rooms),
    duration,
    fanoutWindow: Math.round(positive(values.window, "window") ?? preset.fanoutWindow),
    warmup: Math.min(preset.warmup, duration / 2),
    httpDuration: values.duration ? duration : preset.httpDuration,
    holdClients: Math.round(positive(values["hold-clients"], "hold-clients") ?? preset.holdClients),
    holdSeconds: positive(values["hold-seconds"], "hold-seconds") ?? preset.holdSeconds,
    holdSystems: list(values["hold-systems"], SYSTEM_NAMES, preset.holdSystems, "system"),
    out: path.resolve(values.out ?? path.join(benchDir, "results")),
    cpuProf: values["cpu-prof"] ? path.resolve(values["cpu-prof"]) : undefined,
    productEnv: Object.fromEntries(
      (values["product-env"] ?? []).map((pair) => {
        const eq = pair.indexOf("=");
        if (eq <= 0) throw new Error(`--product-env needs KEY=VALUE, got "${pair}"`);
        return [pair.slice(0, eq), pair.slice(eq + 1)];
      }),
    ),
    progress: !values["no-progress"],
  };
}

export const USAGE = HELP;
