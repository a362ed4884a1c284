import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { Config } from "../config/env";
import { isTypeScript, registerTypeScript } from "../loader/register";
import type { Application } from "./feature";

/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * Built-in applications, selected with `APP`; each is loaded only when it runs (a worker holds the
 * one it serves, not the others).
 */
export const applications: Record<string, () => Application> = {
  chat: () => (require("./chat") as typeof import("./chat")).chatApp,
  echo: () => (require("./echo") as typeof import("./echo")).echoApp,
  conformance: () => (require("./conformance") as typeof import("./conformance")).conformanceApp,
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** Why the configured application cannot be loaded, or `undefined` (checked by the primary at start). */
export function applicationProblem(config: Config): string | undefined {
  if (config.appModule) {
    return existsSync(config.appModule)
      ? undefined
      : `invalid configuration: APP_MODULE=${JSON.stringify(config.appModule)} (allowed: a path to an existing JavaScript or TypeScript module)`;
  }
  if (!applications[config.app]) {
    return `invalid configuration: APP=${JSON.stringify(config.app)} (allowed: ${Object.keys(applications).join(", ")})`;
  }
  return undefined;
}

const isApplication = (value: unknown): value is Application =>
  typeof value === "object" && value !== null && Array.isArray((value as Application).features);

/**
 * The application a module exports: `default` or `application`, from an ES module, a TypeScript
 * module or a CommonJS one (`module.exports = app`, `exports.application = app`, or a compiled
 * `exports.default = app`).
 */
export function applicationOf(namespace: Record<string, unknown>): Application | undefined {
  const fromDefault = namespace.default as Record<string, unknown> | undefined;
  const found = [namespace.application, namespace.default, fromDefault?.application, fromDefault?.default].find(isApplication);
  return found;
}

/**
 * Imports an application module: TypeScript (`.ts`, `.mts`, `.cts`; run as it is, see
 * `loader/hooks.mts`) or JavaScript (ES module or CommonJS).
 * @throws Error when it exports no application.
 */
export async function importApplication(file: string): Promise<Application> {
  if (isTypeScript(file)) registerTypeScript();
  const namespace = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const application = applicationOf(namespace);
  if (!application) {
    throw new Error(`${file} exports no application: export default defineApp({ features: [...] }) (or export it as \`application\`)`);
  }
  return application;
}

/** The application to run: `APP_MODULE`'s export, or the built-in `APP`. */
export async function loadApplication(config: Config): Promise<Application> {
  if (config.appModule) return importApplication(config.appModule);
  const application = applications[config.app];
  if (!application) throw new Error(`unknown application ${config.app}`);
  return application();
}
