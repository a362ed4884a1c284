import { conformanceApp } from "./conformance";
import { echoApp } from "./echo";
import type { Application } from "./feature";

/** Built-in applications, selected with `APP`. */
export const applications: Record<string, Application> = {
  [echoApp.name]: echoApp,
  [conformanceApp.name]: conformanceApp,
};
