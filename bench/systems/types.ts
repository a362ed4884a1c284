import type { CompiledScripts } from "../lib/compile";

export type SystemName = "product" | "recipe" | "single" | "raw";
export const SYSTEM_NAMES: SystemName[] = ["product", "recipe", "single", "raw"];

export interface StartContext {
  root: string;
  scripts: CompiledScripts;
  port: number;
  workers: number;
  /** Extra environment (the product's settings from `--product-env`). */
  env: Record<string, string>;
  /** Extra node arguments for the server's primary; cluster workers inherit them (e.g. `--cpu-prof`). */
  nodeArgs: string[];
}

/** A server under test, started by the harness. */
export interface RunningSystem {
  url: string;
  port: number;
  /** Worker processes actually serving (1 for the single-process server). */
  workers: number;
  /** Every PID of the server (primary and workers), for RSS and CPU figures. */
  pids(): Promise<number[]>;
  /** Runs a full GC in every server process (SIGURG, see servers/gc-hook.ts). */
  gc(): Promise<void>;
  /** Facts worth reporting (e.g. the engine the product really runs). */
  notes: string[];
  stop(): Promise<void>;
}

export interface SystemSpec {
  name: SystemName;
  label: string;
  description: string;
  /** What the system can do (scenarios it cannot run are reported as n/a, with the reason). */
  supports: { polling: boolean; multiWorker: boolean };
  start(context: StartContext): Promise<RunningSystem>;
}
