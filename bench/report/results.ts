import type { MachineInfo } from "../lib/machine";
import type { BenchOptions, ScenarioName } from "../options";
import type { BroadcastData } from "../scenarios/broadcast";
import type { EchoData } from "../scenarios/echo";
import type { HoldData } from "../scenarios/hold";
import type { HttpData } from "../scenarios/http";
import type { RampData } from "../scenarios/ramp";
import type { Outcome } from "../scenarios/types";
import type { SystemName } from "../systems/types";

export interface ScenarioData {
  ramp: RampData;
  echo: EchoData;
  fanout: BroadcastData;
  rooms: BroadcastData;
  cross: BroadcastData;
  http: HttpData;
  hold: HoldData;
}

export type ScenarioResults = { [S in ScenarioName]?: Partial<Record<SystemName, Outcome<ScenarioData[S]>>> };

export interface SystemInfo {
  label: string;
  description: string;
  workers: number;
  notes: string[];
}

export interface RatioRow {
  metric: string;
  unit: string;
  /** `higher` or `lower` is better. */
  better: "higher" | "lower";
  values: Partial<Record<SystemName, number | null>>;
  /** value ÷ the recipe's value. */
  ratios: Partial<Record<SystemName, number | null>>;
  /** The generator was saturated while measuring this figure, for these systems. */
  saturated: SystemName[];
  /** Other processes on the machine used CPU while measuring this figure, for these systems. */
  disturbed: SystemName[];
}

export interface TargetCheck {
  id: string;
  description: string;
  /** The measured ratio or figure. */
  value: number | null;
  threshold: string;
  met: boolean | null;
  detail: string;
}

export interface BenchResults {
  version: 1;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  command: string;
  options: BenchOptions;
  machine: MachineInfo;
  /** Load average when the run ended (with the one at the start: was the machine busy with something else?). */
  loadAverageEnd: number[];
  systems: Partial<Record<SystemName, SystemInfo>>;
  scenarios: ScenarioResults;
  ratios: RatioRow[];
  targets: TargetCheck[];
  /** Phases where a generator process was at its limit. */
  saturation: string[];
  /** Phases during which processes outside the bench used CPU (figures skewed). */
  disturbance: string[];
}
