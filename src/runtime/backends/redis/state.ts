import { randomBytes } from "node:crypto";
import os from "node:os";
import createDebug from "debug";
import type { RedisClientType } from "redis";
import type { SharedState, StateChange } from "../../../state/shared-state";

const debug = createDebug("runtime:state:redis");

/** How long a process's lease lives without a refresh (ms). */
const LEASE_MS = 10_000;
/** How often a process refreshes its lease and sweeps dead processes (ms). */
const SWEEP_MS = 2_000;

/**
 * Keys (prefix `P`, default `sio-rt:state:`):
 *   P claims:<space>    hash  key → "<holder>\n<process>"
 *   P counter:<name>    hash  process → its contribution
 *   P seq:<name>        string (INCR)
 *   P spaces, P counters  sets of the names in use (for the sweep)
 *   P procs             set of the processes that hold something
 *   P lease:<process>   string with a TTL, refreshed by the living process
 *   P released          pub/sub channel: a StateChange (JSON) after a sweep
 * Every operation is one command or one Lua script, so each is atomic. Lua scripts touch keys they
 * compute themselves: a single Redis server (or a primary with replicas), not Redis Cluster.
 */
const CLAIM = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and string.sub(cur, 1, string.find(cur, '\\n', 1, true) - 1) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '\\n' .. ARGV[3])
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('SADD', KEYS[3], ARGV[3])
return 1`;

const RELEASE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur or string.sub(cur, 1, string.find(cur, '\\n', 1, true) - 1) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
return 1`;

const SUM = `
local total = 0
for _, v in ipairs(redis.call('HVALS', KEYS[1])) do total = total + tonumber(v) end
return total`;

const ADD = `
redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[1])
${SUM}`;

/**
 * Drops everything held by the processes whose lease expired (ARGV[2] = '1': by ARGV[3] itself,
 * alive or not) and returns the changed space and counter names as JSON.
 */
const SWEEP = `
local p = ARGV[1]
local dead = {}
if ARGV[2] == '1' then
  dead[ARGV[3]] = true
  redis.call('SREM', p .. 'procs', ARGV[3])
else
  for _, proc in ipairs(redis.call('SMEMBERS', p .. 'procs')) do
    if redis.call('EXISTS', p .. 'lease:' .. proc) == 0 then
      dead[proc] = true
      redis.call('SREM', p .. 'procs', proc)
    end
  end
end
if next(dead) == nil then return '{"spaces":[],"counters":[]}' end
local spaces, counters = {}, {}
for _, space in ipairs(redis.call('SMEMBERS', p .. 'spaces')) do
  local key = p .. 'claims:' .. space
  local entries = redis.call('HGETALL', key)
  local changed = false
  for i = 1, #entries, 2 do
    local owner = string.sub(entries[i + 1], string.find(entries[i + 1], '\\n', 1, true) + 1)
    if dead[owner] then
      redis.call('HDEL', key, entries[i])
      changed = true
    end
  end
  if changed then table.insert(spaces, space) end
end
for _, name in ipairs(redis.call('SMEMBERS', p .. 'counters')) do
  local key = p .. 'counter:' .. name
  local changed = false
  for proc in pairs(dead) do
    if redis.call('HDEL', key, proc) == 1 then changed = true end
  end
  if changed then table.insert(counters, name) end
end
return cjson.encode({ spaces = spaces, counters = counters })`;

const parseChange = (json: string): StateChange => {
  const raw = JSON.parse(json) as { spaces: unknown; counters: unknown };
  // cjson encodes an empty Lua table as {}
  return { spaces: Array.isArray(raw.spaces) ? raw.spaces : [], counters: Array.isArray(raw.counters) ? raw.counters : [] };
};

type Client = RedisClientType;

/**
 * {@link SharedState} in Redis, for several machines: same semantics as the primary's store. What a
 * process claims or counts is recorded under its id; the process refreshes a lease key; any
 * process's sweep drops the claims and contributions of processes whose lease expired and publishes
 * what changed, so `onReleased` listeners run on every process once. A process that stops cleanly
 * withdraws its own at once ({@link close}); a killed one within `LEASE_MS + SWEEP_MS`.
 */
export class RedisSharedState implements SharedState {
  readonly processId = `${os.hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  private readonly listeners: Array<(change: StateChange) => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private subscriber: Client | undefined;

  constructor(
    private readonly client: Client,
    private readonly prefix = "sio-rt:state:",
  ) {}

  /** Takes the lease, subscribes to release notifications and starts sweeping. */
  async start(): Promise<void> {
    await this.refresh();
    this.subscriber = this.client.duplicate();
    this.subscriber.on("error", (err: Error) => debug("subscriber: %s", err.message));
    await this.subscriber.connect();
    await this.subscriber.subscribe(`${this.prefix}released`, (message) => {
      const change = parseChange(message);
      for (const listener of this.listeners) listener(change);
    });
    this.timer = setInterval(() => {
      this.refresh()
        .then(() => this.sweep(false))
        .catch((err: Error) => debug("sweep: %s", err.message));
    }, SWEEP_MS);
    this.timer.unref();
  }

  /** Withdraws this process's claims and contributions (telling the others) and stops. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.sweep(true).catch((err: Error) => debug("close: %s", err.message));
    await this.client.del(`${this.prefix}lease:${this.processId}`).catch(() => undefined);
    await this.subscriber?.quit().catch(() => undefined);
  }

  private async refresh(): Promise<void> {
    await this.client.set(`${this.prefix}lease:${this.processId}`, "1", { PX: LEASE_MS });
  }

  private async sweep(self: boolean): Promise<void> {
    const json = (await this.client.eval(SWEEP, { keys: [], arguments: [this.prefix, self ? "1" : "0", this.processId] })) as string;
    const change = parseChange(json);
    if (change.spaces.length + change.counters.length === 0) return;
    debug("released %o", change);
    await this.client.publish(`${this.prefix}released`, JSON.stringify(change));
  }

  async claim(space: string, key: string, holder: string): Promise<boolean> {
    const p = this.prefix;
    const done = await this.client.eval(CLAIM, {
      keys: [`${p}claims:${space}`, `${p}spaces`, `${p}procs`],
      arguments: [key, holder, this.processId, space],
    });
    return done === 1;
  }

  async release(space: string, key: string, holder: string): Promise<boolean> {
    const done = await this.client.eval(RELEASE, { keys: [`${this.prefix}claims:${space}`], arguments: [key, holder] });
    return done === 1;
  }

  async keys(space: string): Promise<string[]> {
    return (await this.client.hKeys(`${this.prefix}claims:${space}`)).sort();
  }

  async add(name: string, delta: number): Promise<number> {
    const p = this.prefix;
    return Number(
      await this.client.eval(ADD, {
        keys: [`${p}counter:${name}`, `${p}counters`, `${p}procs`],
        arguments: [this.processId, String(delta), name],
      }),
    );
  }

  async value(name: string): Promise<number> {
    return Number(await this.client.eval(SUM, { keys: [`${this.prefix}counter:${name}`], arguments: [] }));
  }

  async next(name: string): Promise<number> {
    return this.client.incr(`${this.prefix}seq:${name}`);
  }

  onReleased(listener: (change: StateChange) => void): void {
    this.listeners.push(listener);
  }
}
