import type { Fleet } from "../load/fleet";
import type { Progress } from "../lib/progress";
import type { BenchOptions, ScenarioName } from "../options";
import type { CompiledScripts } from "../lib/compile";
import type { RunningSystem, SystemSpec } from "../systems/types";

/** The generators' own load over a measured phase. */
export interface GeneratorLoad {
  /** Highest CPU of one generator process, as a share of one core. */
  cpuMax: number;
  /** Highest event-loop delay p99 of one generator process (ms). */
  lagP99MaxMs: number;
  /** A generator was at its limit: the figure may be the generator's, not the server's. */
  saturated: boolean;
}

export interface PhaseLoad {
  generator: GeneratorLoad;
  /** Cores the server's processes used on average during the phase. */
  serverCpu: number;
  /** Cores used by processes that are neither the server nor the bench: not 0 means a skewed figure. */
  otherCpu: number;
}

/** Figures measured on other systems that a scenario needs (the recipe's max echo rate). */
export interface References {
  echoMaxRate?: { system: string; rate: number };
  /** Max shouts/s per broadcast scenario. */
  shoutMaxRate?: Partial<Record<"fanout" | "rooms" | "cross", { system: string; rate: number }>>;
}

export interface ScenarioContext {
  options: BenchOptions;
  spec: SystemSpec;
  system: RunningSystem;
  fleet: Fleet;
  progress: Progress;
  scripts: CompiledScripts;
  references: References;
  limits: Limits;
}

/** A scenario's outcome for one system: its figures, or why it does not apply. */
export type Outcome<T> = { ok: true; data: T; notes: string[] } | { ok: false; skipped: string } | { ok: false; error: string };

/** What the harness may give a scenario that needs more than the shared setup. */
export interface Limits {
  /** Open files one process may hold. */
  openFiles: number;
}

export interface Scenario<T> {
  name: ScenarioName;
  title: string;
  /** A scenario that needs its own server and generators (sized by these), not the shared ones. */
  own?: {
    workers(options: BenchOptions, spec: SystemSpec, limits: Limits): number;
    generators(options: BenchOptions, limits: Limits): number;
  };
  /** Why `spec` cannot run it, or `undefined`. */
  notApplicable?(spec: SystemSpec, options: BenchOptions, limits: Limits): string | undefined;
  run(context: ScenarioContext): Promise<{ data: T; notes: string[] }>;
  /** One line for the progress log. */
  summarize(data: T): string;
}
