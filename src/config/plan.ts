import type { Config } from "./settings";

/**
 * What the primary decides at start, from the settings and the machine, for every worker of its
 * cluster: not a setting a user writes. It travels to each worker in one environment variable
 * ({@link PLAN_VARIABLE}), read back with {@link readPlan}.
 */
export interface ClusterPlan {
  /** The engine that serves: `ENGINE`, or `node` when uWebSockets.js cannot load here. */
  engine: Config["engine"];
  /** The folder the primary created for the workers' private sockets. */
  runtimeDir: string;
  /**
   * The workers take no new session until the primary's `worker:serve`: the previous primary's
   * workers still hold the port (a handover), and a session opened here now could see its next
   * request reach them.
   */
  held?: boolean;
  /**
   * The configuration the primary read and checked: a worker takes it from here instead of
   * reading its environment again (and does not load the settings' schemas).
   */
  config: Config;
}

/** The variable a worker finds its {@link ClusterPlan} in. */
export const PLAN_VARIABLE = "RUNTIME_PLAN";

/** The plan as environment for `cluster.fork`. */
export function planEnv(plan: ClusterPlan): Record<string, string> {
  return { [PLAN_VARIABLE]: JSON.stringify(plan) };
}

/** The plan the primary gave this worker. */
export function readPlan(env: NodeJS.ProcessEnv = process.env): ClusterPlan {
  const text = env[PLAN_VARIABLE];
  if (!text) throw new Error(`${PLAN_VARIABLE} is unset: a worker is started by the primary`);
  const plan = JSON.parse(text) as Partial<ClusterPlan>;
  if ((plan.engine !== "uws" && plan.engine !== "node") || typeof plan.runtimeDir !== "string" || typeof plan.config !== "object" || plan.config === null) {
    throw new Error(`${PLAN_VARIABLE} is not a plan: ${text.slice(0, 200)}`);
  }
  return { engine: plan.engine, runtimeDir: plan.runtimeDir, held: plan.held === true, config: plan.config };
}
