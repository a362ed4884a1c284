/**
 * `npm run bench`: starts each system under test on a free port, drives it with the load
 * generators through the selected scenarios, and writes latest.json, latest.md and latest.svg.
 * See `npm run bench -- --help` and bench/README-section.md.
 */
import createDebug from "debug";
import { existsSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Fleet } from "./load/fleet";
import { compileScripts, type CompiledScripts } from "./lib/compile";
import { machineInfo } from "./lib/machine";
import { freePort } from "./lib/processes";
import { Progress } from "./lib/progress";
import { parseOptions, USAGE, type BenchOptions, type ScenarioName } from "./options";
import { writeChart } from "./report/chart";
import { writeJson } from "./report/json";
import { writeMarkdown } from "./report/markdown";
import { DISTURBED_CPU, ratioRows } from "./report/metrics";
import type { BenchResults, ScenarioResults, SystemInfo } from "./report/results";
import { checkTargets } from "./report/targets";
import { SCENARIOS } from "./scenarios";
import type { Limits, Outcome, PhaseLoad, References, Scenario } from "./scenarios/types";
import { SYSTEMS } from "./systems";
import type { RunningSystem, SystemName, SystemSpec } from "./systems/types";

const debug = createDebug("bench:run");
const BENCH_DIR = __dirname;
const ROOT = path.resolve(BENCH_DIR, "..");

/** Upper bound of a whole run, whatever happens (then everything is stopped). */
const WATCHDOG_MINUTES: Record<BenchOptions["mode"], number> = { smoke: 4, quick: 6, full: 45 };

interface Session {
  options: BenchOptions;
  scripts: CompiledScripts;
  progress: Progress;
  limits: Limits;
  references: References;
  results: ScenarioResults;
  systems: Partial<Record<SystemName, SystemInfo>>;
  /** Everything to stop on the way out, latest first. */
  cleanups: Array<() => Promise<void>>;
}

function record(session: Session, scenario: ScenarioName, system: SystemName, outcome: Outcome<unknown>): void {
  const bySystem = (session.results[scenario] ??= {}) as Record<string, Outcome<unknown>>;
  bySystem[system] = outcome;
}

async function startSystem(session: Session, spec: SystemSpec, workers: number, group: string): Promise<RunningSystem> {
  const port = await freePort();
  session.progress.phase("start", spec.name, `${workers} workers, port ${port}`);
  const nodeArgs: string[] = [];
  if (session.options.cpuProf) {
    const dir = path.join(session.options.cpuProf, `${spec.name}-${group}`);
    mkdirSync(dir, { recursive: true });
    nodeArgs.push("--cpu-prof", `--cpu-prof-dir=${dir}`);
  }
  const system = await spec.start({ root: ROOT, scripts: session.scripts, port, workers, nodeArgs, env: spec.name === "product" ? session.options.productEnv : {} });
  session.systems[spec.name] ??= { label: spec.label, description: spec.description, workers: system.workers, notes: [] };
  for (const note of system.notes) if (!session.systems[spec.name]!.notes.includes(note)) session.systems[spec.name]!.notes.push(note);
  return system;
}

async function runScenario(session: Session, scenario: Scenario<unknown>, spec: SystemSpec, system: RunningSystem, fleet: Fleet): Promise<void> {
  const started = Date.now();
  try {
    const { data, notes } = await scenario.run({
      options: session.options,
      spec,
      system,
      fleet,
      progress: session.progress,
      scripts: session.scripts,
      references: session.references,
      limits: session.limits,
    });
    record(session, scenario.name, spec.name, { ok: true, data, notes });
    session.progress.log(`${scenario.name.padEnd(7)} ${spec.name.padEnd(8)} ${scenario.summarize(data)} (${Math.round((Date.now() - started) / 1000)} s)`);
  } catch (err) {
    debug("%s/%s failed: %O", scenario.name, spec.name, err);
    record(session, scenario.name, spec.name, { ok: false, error: (err as Error).message });
    session.progress.log(`${scenario.name.padEnd(7)} ${spec.name.padEnd(8)} ERROR ${(err as Error).message}`);
  }
}

/**
 * Each scenario on a fresh server (what one scenario leaves behind, e.g. sessions kept for
 * recovery, must not slow the next one), with the shared generators or, for a scenario that
 * needs more (hold), its own.
 */
async function benchSystem(session: Session, spec: SystemSpec, fleet: Fleet): Promise<void> {
  const { options, limits } = session;
  for (const name of options.scenarios) {
    const scenario = SCENARIOS[name];
    const reason = scenario.notApplicable?.(spec, options, limits);
    if (reason) {
      record(session, scenario.name, spec.name, { ok: false, skipped: reason });
      session.progress.log(`${scenario.name.padEnd(7)} ${spec.name.padEnd(8)} n/a: ${reason}`);
      continue;
    }
    const workers = scenario.own ? scenario.own.workers(options, spec, limits) : options.workers;
    const generators = scenario.own ? scenario.own.generators(options, limits) : fleet.size;
    let ownFleet: Fleet | undefined;
    let system: RunningSystem | undefined;
    try {
      if (generators > fleet.size) ownFleet = await Fleet.start(generators, session.scripts);
      system = await startSystem(session, spec, workers, scenario.name);
    } catch (err) {
      record(session, scenario.name, spec.name, { ok: false, error: `start: ${(err as Error).message}` });
      session.progress.log(`${scenario.name.padEnd(7)} ${spec.name.padEnd(8)} ERROR ${(err as Error).message}`);
    }
    try {
      if (system) await runScenario(session, scenario, spec, system, ownFleet ?? fleet);
    } finally {
      session.progress.phase("stop", spec.name, "");
      await system?.stop();
      await ownFleet?.stop();
    }
  }
}

/** Phases ("scenario / system / phase") whose load matches `flag`. */
function phasesWhere(results: ScenarioResults, flag: (load: PhaseLoad) => string | undefined): string[] {
  const found: string[] = [];
  const walk = (value: unknown, where: string) => {
    if (!value || typeof value !== "object") return;
    const load = (value as { load?: PhaseLoad }).load;
    const why = load?.generator ? flag(load) : undefined;
    if (why) found.push(`${where} (${why})`);
    for (const [key, child] of Object.entries(value)) if (key !== "load") walk(child, Array.isArray(value) ? `${where}[${key}]` : `${where}/${key}`);
  };
  for (const [scenario, bySystem] of Object.entries(results)) {
    for (const [system, outcome] of Object.entries(bySystem ?? {})) if (outcome?.ok) walk(outcome.data, `${scenario} / ${system}`);
  }
  return found;
}

async function main(): Promise<number> {
  let options: BenchOptions | "help";
  try {
    options = parseOptions(process.argv.slice(2), BENCH_DIR);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (options.systems.includes("product") && !existsSync(path.join(ROOT, "dist", "main.js"))) {
    process.stderr.write("dist/main.js is missing: run `npm run build` first (npm run bench does)\n");
    return 1;
  }
  mkdirSync(options.out, { recursive: true });
  const startedAt = new Date();
  const machine = machineInfo(ROOT);
  const progress = new Progress(process.stderr, options.progress);
  const session: Session = {
    options,
    scripts: compileScripts(BENCH_DIR, ROOT),
    progress,
    limits: { openFiles: machine.openFiles.hard },
    references: {},
    results: {},
    systems: {},
    cleanups: [],
  };
  const cleanup = async () => {
    for (const step of session.cleanups.reverse()) await step().catch(() => undefined);
    session.cleanups = [];
  };
  session.cleanups.push(async () => session.scripts.dispose());
  const abort = (why: string) => {
    progress.log(why);
    void cleanup().finally(() => process.exit(1));
  };
  process.once("SIGINT", () => abort("interrupted: stopping every process"));
  process.once("SIGTERM", () => abort("terminated: stopping every process"));
  const watchdog = setTimeout(() => abort(`the run exceeded ${WATCHDOG_MINUTES[options.mode]} minutes: stopping`), WATCHDOG_MINUTES[options.mode] * 60_000);
  watchdog.unref();

  progress.start();
  progress.log(
    `bench (${options.mode}): systems ${options.systems.join(",")}; scenarios ${options.scenarios.join(",")}; ` +
      `${options.workers} workers, ${options.generators} generators; ${machine.cpuModel}, ${machine.cores} cores`,
  );
  try {
    const fleet = await Fleet.start(options.generators, session.scripts);
    session.cleanups.push(() => fleet.stop());
    // the recipe first: the echo scenario's offered rates are fractions of its max rate
    const order = [...options.systems].sort((a, b) => (a === "recipe" ? -1 : b === "recipe" ? 1 : 0));
    for (const name of order) await benchSystem(session, SYSTEMS[name], fleet);
  } finally {
    await cleanup();
    clearTimeout(watchdog);
  }

  const finishedAt = new Date();
  const systems = Object.keys(session.systems) as SystemName[];
  const ratios = ratioRows(session.results, systems);
  const results: BenchResults = {
    version: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 100) / 10,
    command: `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim(),
    options,
    machine,
    loadAverageEnd: os.loadavg().map((n) => Math.round(n * 100) / 100),
    systems: session.systems,
    scenarios: session.results,
    ratios,
    targets: checkTargets(ratios, session.results, options),
    saturation: phasesWhere(session.results, (load) =>
      load.generator.saturated ? `generator CPU ${load.generator.cpuMax}, loop lag p99 ${load.generator.lagP99MaxMs} ms` : undefined,
    ),
    disturbance: phasesWhere(session.results, (load) =>
      load.otherCpu >= DISTURBED_CPU ? `other processes used ${load.otherCpu} cores` : undefined,
    ),
  };
  const files = { json: path.join(options.out, "latest.json"), md: path.join(options.out, "latest.md"), svg: path.join(options.out, "latest.svg") };
  writeJson(files.json, results);
  writeChart(files.svg, results);
  writeMarkdown(files.md, results, "latest.svg");
  progress.stop();
  process.stderr.write(`\ndone in ${Math.round(results.durationSeconds)} s\n`);
  if (results.disturbance.length > 0) {
    process.stderr.write(`\nWARNING: other processes used the CPU during ${results.disturbance.length} measured phases: those figures are skewed (see latest.md)\n`);
  }
  for (const t of results.targets) {
    process.stderr.write(`  ${t.met == null ? "–  " : t.met ? "met" : "MISSED"}  ${t.description}: ${t.value ?? "n/a"} (${t.threshold})\n`);
  }
  process.stderr.write(`results: ${files.json}\n         ${files.md}\n         ${files.svg}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
