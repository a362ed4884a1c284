import { Problem, RULES } from "./rules";
import { SETTINGS, type Config, type Setting } from "./settings";

export type { Config } from "./settings";
export { upgradeWindowFor } from "./upgrade-window";

/** Thrown by {@link loadConfig}; its message is the one line printed before exiting 1. */
export class ConfigError extends Error {}

/**
 * `invalid configuration: NAME="value" (allowed: …)`, or `NAME is unset` when `value` is
 * `undefined`; a secret's value is shown as `(hidden)`.
 */
function configError(setting: keyof Config, value: string | undefined, allowed: string): ConfigError {
  const { env, secret } = SETTINGS[setting] as Setting;
  const shown = value === undefined ? " is unset" : `=${secret ? "(hidden)" : JSON.stringify(value)}`;
  return new ConfigError(`invalid configuration: ${env}${shown} (allowed: ${allowed})`);
}

/** The text a setting is read from: its variable (empty counts as unset), else its default, else `undefined`. */
function textOf(setting: Setting, given: string | undefined): string | undefined {
  return given ?? (typeof setting.default === "function" ? setting.default() : setting.default);
}

/**
 * One setting read on its own, as {@link loadConfig} reads it (the variable, else the default),
 * for a process that needs it before or without the whole configuration (the logger's format).
 * @throws ConfigError as {@link loadConfig} does.
 */
export function readSetting<K extends keyof Config>(key: K, env: NodeJS.ProcessEnv = process.env): Config[K] {
  const setting = SETTINGS[key] as Setting;
  const text = textOf(setting, env[setting.env] || undefined);
  const result = setting.schema.safeParse(text);
  if (!result.success) throw configError(key, text, result.error.issues[0]?.message ?? "a valid value");
  return result.data as Config[K];
}

/**
 * Reads and validates the configuration: every setting of {@link SETTINGS} from its variable,
 * then the rules across settings (`UPGRADE_WINDOW` below ⅔ of `PING_INTERVAL`, `SSL_KEY_FILE`
 * with `SSL_CERT_FILE`).
 * @throws ConfigError naming the variable, the value and what is allowed, in one line.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const given = (setting: keyof Config): string | undefined => env[SETTINGS[setting].env] || undefined;
  const values: Partial<Record<keyof Config, unknown>> = {};
  for (const key of Object.keys(SETTINGS) as (keyof Config)[]) values[key] = readSetting(key, env);
  let config = values as Config;
  for (const rule of RULES) {
    const outcome = rule({ config, given });
    if (outcome instanceof Problem) throw configError(outcome.setting, given(outcome.setting), outcome.allowed);
    config = { ...config, ...outcome };
  }
  return config;
}
