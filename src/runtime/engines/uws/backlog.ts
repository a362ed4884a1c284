import type { Server } from "socket.io";
import type { TemplatedApp, WebSocketBehavior } from "uWebSockets.js";
import { backlogWatchOf } from "../../limits/backlog";

/**
 * uWS's own backpressure limit (`maxBackpressure`, with `closeOnBackpressureLimit`): a safety net
 * above `MAX_BACKLOG`, which the {@link BacklogWatch} enforces itself. The margin lets a recovery
 * replay (sent at once to a client that just reconnected) through: cutting it would make the client
 * come back for the same replay again.
 */
export function hardBacklogLimit(maxBacklog: number): number {
  return Math.max(4 * maxBacklog, 64 * 1024 * 1024);
}

/**
 * `closeOnBackpressureLimit` switched on. uWS reads the option as a flag (`true` converts to 1 where a
 * build reads an integer); its typings say `number` up to 20.30 and `boolean` in upstream's
 * 20.5x/20.6x, so the value is typed as whichever typings are installed.
 */
const CLOSE_ON_BACKPRESSURE_LIMIT = true as unknown as NonNullable<WebSocketBehavior<unknown>["closeOnBackpressureLimit"]>;

/**
 * The uWS app as engine.io's `attach` sees it, with `closeOnBackpressureLimit` on its WebSocket
 * routes: a WebSocket whose backpressure passes `maxBackpressure` ({@link hardBacklogLimit}) is closed by uWS
 * instead of being skipped by `publish`, so that no broadcast is ever silently lost (the client
 * reconnects and recovers it). engine.io passes only some of uWS's options through.
 */
export function closingOnBackpressure(app: TemplatedApp): TemplatedApp {
  const proxy = {
    any: (...args: Parameters<TemplatedApp["any"]>) => {
      app.any(...args);
      return proxy;
    },
    ws: (pattern: string, behavior: WebSocketBehavior<unknown>) => {
      app.ws(pattern, { ...behavior, closeOnBackpressureLimit: CLOSE_ON_BACKPRESSURE_LIMIT });
      return proxy;
    },
  };
  return proxy as unknown as TemplatedApp;
}

/**
 * What Socket.IO's uWS adapter patch publishes through: `publish` on every app of the worker (the
 * public one, and the private one where WebSockets relayed from other workers are), then the
 * topic's recipients are checked against `MAX_BACKLOG` (see {@link BacklogWatch}), so that a
 * WebSocket uWS closed because of backpressure is counted and logged as a slow consumer.
 */
export function watchingPublishes(apps: TemplatedApp[], io: Server): TemplatedApp {
  return {
    publish: (...args: Parameters<TemplatedApp["publish"]>) => {
      let published = false;
      for (const app of apps) published = app.publish(...args) || published;
      const topic = args[0];
      if (typeof topic === "string") backlogWatchOf(io)?.topicPublished(topic);
      return published;
    },
  } as unknown as TemplatedApp;
}
