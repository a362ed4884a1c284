import type { DefaultEventsMap, Server, ServerOptions } from "socket.io";
import type { Application, Feature, FeatureContext } from "./feature";

/** Socket.IO's constraint on an events map: event names to listener signatures. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventsMap = Record<string, any>;

/** The Socket.IO server a feature receives, with its event types. */
export type AppServer<
  ClientToServer extends EventsMap = DefaultEventsMap,
  ServerToClient extends EventsMap = DefaultEventsMap,
  InterServer extends EventsMap = DefaultEventsMap,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  SocketData = any,
> = Server<ClientToServer, ServerToClient, InterServer, SocketData>;

/** What {@link defineApp} takes. */
export interface AppDefinition {
  /** The application's name, in every log record of its features (`app`). Default: `"app"`. */
  name?: string;
  /** The features, started in this order in every worker (middlewares first). */
  features: Feature[];
  /**
   * Socket.IO server options the application needs, merged over the runtime's (which set the
   * heartbeat, `maxHttpBufferSize`, CORS, the cluster adapter and connection state recovery from
   * the settings: leave `adapter` alone). Default: none.
   */
  serverOptions?: Partial<ServerOptions>;
}

/**
 * An application: the module's default export (or its `application` export), run by
 * `uws-socketio-cluster dev app.ts` / `start app.ts` in every worker.
 *
 * ```ts
 * import { defineApp } from "uws-socketio-cluster";
 * export default defineApp({
 *   features: [({ io }) => io.on("connection", (socket) => socket.on("chat message", (text) => io.emit("chat message", text)))],
 * });
 * ```
 */
export function defineApp(definition: AppDefinition): Application {
  return {
    name: definition.name ?? "app",
    features: [...definition.features],
    ...(definition.serverOptions ? { serverOptions: definition.serverOptions as Record<string, unknown> } : {}),
  };
}

/**
 * A feature with typed events: `io` (and each socket) knows which events clients send
 * (`ClientToServer`), which the server emits (`ServerToClient`), which workers send each other
 * with `serverSideEmit` (`InterServer`) and what `socket.data` holds (`SocketData`). The feature
 * runs once per worker and registers handlers; `io` already spans every worker.
 *
 * ```ts
 * interface ClientToServer { hello: (name: string, ack: (answer: string) => void) => void }
 * interface ServerToClient { greeted: (name: string) => void }
 * export const greetings = defineFeature<ClientToServer, ServerToClient>(({ io, log }) => {
 *   io.on("connection", (socket) => socket.on("hello", (name, ack) => { ack(`hello ${name}`); io.emit("greeted", name); }));
 * });
 * ```
 */
export function defineFeature<
  ClientToServer extends EventsMap = DefaultEventsMap,
  ServerToClient extends EventsMap = DefaultEventsMap,
  InterServer extends EventsMap = DefaultEventsMap,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  SocketData = any,
>(feature: (context: FeatureContext<AppServer<ClientToServer, ServerToClient, InterServer, SocketData>>) => void): Feature {
  // the runtime hands every feature the same server; the types are the feature's view of it
  return feature as unknown as Feature;
}
