/**
 * `uws-socketio-cluster`: the API of the package. An application module imports
 * {@link defineApp} and {@link defineFeature}; a program that embeds the runtime uses
 * {@link createRuntime}. The command (`uws-socketio-cluster dev|start|check|bench`) runs them.
 */
export { defineApp, defineFeature, type AppDefinition, type AppServer, type EventsMap } from "./app/define";
export type { Application, Feature, FeatureContext } from "./app/feature";
export type { Config } from "./config/settings";
export { ConfigError } from "./config/env";
export type { Logger } from "./log/logger";
export type { SharedState, StateChange } from "./state/shared-state";
export { createRuntime, type Runtime, type RuntimeOptions, type RuntimeSettings, type SettingValue } from "./embed/runtime";
export type { LogRecord } from "./log/pretty";
