import fs from "node:fs";
import { SETTINGS, type Config } from "./settings";
import { maxUpgradeWindow, upgradeWindowFor } from "./upgrade-window";

/** What is wrong with one setting, given a rule across settings; `loadConfig` prints it as one line. */
export class Problem {
  /**
   * @param setting the setting named in the message (with its value, or `is unset`).
   * @param allowed what it may be, given the other settings.
   */
  constructor(
    readonly setting: keyof Config,
    readonly allowed: string,
  ) {}
}

/** What a rule sees: every setting read and checked on its own, with the rules before it applied. */
export interface RuleInput {
  config: Config;
  /** The variable's own text when it is set (not empty), `undefined` when the default applies. */
  given(setting: keyof Config): string | undefined;
}

/** A rule across settings: the settings it adjusts (`{}`: none), or the {@link Problem} that stops the start. */
export type Rule = (input: RuleInput) => Partial<Config> | Problem;

/**
 * `UPGRADE_WINDOW` stays below ⅔ of `PING_INTERVAL`: a value set explicitly above that is refused,
 * the default is lowered to fit (so that a short `PING_INTERVAL` alone still starts).
 */
const upgradeWithinHeartbeat: Rule = ({ config, given }) => {
  if (given("upgradeWindow") === undefined) return { upgradeWindow: upgradeWindowFor(config, config.pingInterval) };
  const max = maxUpgradeWindow(config.pingInterval);
  if (config.upgradeWindow <= max) return {};
  return new Problem("upgradeWindow", `less than ⅔ of ${SETTINGS.pingInterval.env}=${config.pingInterval}, i.e. at most ${max}`);
};

/**
 * TLS is on when `SSL_KEY_FILE` is set, and then needs `SSL_CERT_FILE`; both must be readable
 * (checked here, so that a typo stops the start). `SSL_CERT_FILE` alone is ignored: it is also
 * OpenSSL's variable naming the CA bundle, which many systems set for every process.
 */
const tlsFiles: Rule = ({ config }) => {
  if (config.sslKeyFile === undefined) return { sslCertFile: undefined, sslPassphrase: undefined };
  if (config.sslCertFile === undefined) return new Problem("sslCertFile", "set SSL_KEY_FILE and SSL_CERT_FILE together");
  const unreadable = (["sslKeyFile", "sslCertFile"] as const).find((setting) => !readable(config[setting]!));
  return unreadable ? new Problem(unreadable, "a readable PEM file") : {};
};

/** The rules across settings, checked in this order once every setting is valid on its own. */
export const RULES: readonly Rule[] = [upgradeWithinHeartbeat, tlsFiles];

function readable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
