import { existsSync } from "node:fs";
import type { Config } from "../config/env";
import { chatApp } from "./chat";
import { conformanceApp } from "./conformance";
import { echoApp } from "./echo";
import type { Application } from "./feature";

/** Built-in applications, selected with `APP`. */
export const applications: Record<string, Application> = {
  [chatApp.name]: chatApp,
  [echoApp.name]: echoApp,
  [conformanceApp.name]: conformanceApp,
};

/** Why the configured application cannot be loaded, or `undefined` (checked by the primary at start). */
export function applicationProblem(config: Config): string | undefined {
  if (config.appModule) {
    return existsSync(config.appModule)
      ? undefined
      : `invalid configuration: APP_MODULE=${JSON.stringify(config.appModule)} (allowed: a path to an existing JavaScript module)`;
  }
  if (!applications[config.app]) {
    return `invalid configuration: APP=${JSON.stringify(config.app)} (allowed: ${Object.keys(applications).join(", ")})`;
  }
  return undefined;
}

/** The application to run: `APP_MODULE`'s export, or the built-in `APP`. */
export function loadApplication(config: Config): Application {
  if (config.appModule) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(config.appModule) as { default?: Application; application?: Application };
    const application = loaded.application ?? loaded.default;
    if (!application || !Array.isArray(application.features)) {
      throw new Error(`APP_MODULE ${config.appModule} exports no application ({ name, features })`);
    }
    return application;
  }
  const application = applications[config.app];
  if (!application) throw new Error(`unknown application ${config.app}`);
  return application;
}
