import { createClient, type RedisClientType } from "redis";
import type { ServerOptions } from "socket.io";
import type { Logger } from "../../../log/logger";
import type { BackendWorker } from "../backend";
import { recoveringRedisAdapter } from "./recovering-adapter";
import { RedisSharedState } from "./state";

/** Longest the first connection to Redis may take (ms). */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * Connects a worker to Redis (`REDIS_URL`). The first connection fails fast, with one clear
 * message (`cannot connect to Redis at …`): the caller reports it as fatal. Once connected, a lost
 * connection is retried (up to every 2 s) and logged once per outage.
 */
export async function connectRedis(url: string, log: Logger): Promise<RedisClientType> {
  let connected = false;
  let lost = false;
  const client = createClient({
    url,
    socket: {
      connectTimeout: CONNECT_TIMEOUT_MS,
      reconnectStrategy: (retries: number) => (connected ? Math.min(100 * 2 ** retries, 2000) : false),
    },
  }) as RedisClientType;
  client.on("error", (err: Error) => {
    if (!connected || lost) return;
    lost = true;
    log.error({ event: "redis-error", err: err.message }, "Redis connection lost; reconnecting");
  });
  client.on("ready", () => {
    if (lost) log.info({ event: "redis-ready" }, "Redis connection back");
    lost = false;
  });
  const where = new URL(url);
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`cannot connect to Redis at ${where.hostname}:${where.port || 6379}: ${(err as Error).message || String(err)}`);
  }
  connected = true;
  return client;
}

/**
 * Socket.IO's Redis Streams adapter on `client` (broadcasts, rooms, fetchSockets, serverSideEmit),
 * with connection state recovery that survives a killed worker or machine (session records in
 * Redis while connected: ./redis-recovering-adapter.ts).
 */
export function redisAdapter(client: RedisClientType): ServerOptions["adapter"] {
  return recoveringRedisAdapter(client) as unknown as ServerOptions["adapter"];
}

/**
 * The Redis backend's worker half (`ADAPTER=redis`): connects to Redis (`REDIS_URL`), then the
 * Redis Streams adapter with connection state recovery and the shared state in Redis; rejects
 * with one line when Redis is unreachable. The primary holds nothing for this backend.
 */
export async function startRedisWorker({ config, log }: { config: { redisUrl: string }; log: Logger }): Promise<BackendWorker> {
  const client = await connectRedis(config.redisUrl, log);
  const state = new RedisSharedState(client);
  await state.start();
  return {
    adapter: redisAdapter(client),
    state,
    async close() {
      await state.close();
      await client.quit().catch(() => undefined); // QUIT answers after every command sent before it
    },
  };
}
