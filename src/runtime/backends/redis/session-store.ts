import { randomBytes } from "node:crypto";
import v8 from "node:v8";
import createDebug from "debug";
import type { RedisClientType } from "redis";

const debug = createDebug("runtime:redis:sessions");

/**
 * A session record in Redis (a hash at `<prefix><pid>`): what connection state recovery needs to
 * give a client back its id, rooms and data, whatever way its previous connection ended.
 */
export interface SessionRecord {
  sid: string;
  pid: string;
  nsp: string;
  rooms: string[];
  data: unknown;
  /**
   * Redis connection id (`CLIENT ID`) of the worker serving the session while it is connected;
   * `""` once it disconnected (written by the owner on a clean disconnection).
   */
  owner: string;
  /** Random, per incarnation of the session: a restore takes the record only if it is unchanged. */
  token: string;
  /**
   * The last stream entry delivered on its worker when the session began (`""`: unknown): where a
   * client that never received a broadcast resumes from.
   */
  start: string;
}

/** Takes (deletes and answers 1) the record only if its token is still ARGV[1]. */
const TAKE = `
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

/** Longest pid accepted from a client (Socket.IO's are 20 characters). */
const MAX_PID_LENGTH = 64;

/** `socket.data` as a string, or `""` when it cannot be serialized (functions, sockets…). */
function encodeData(data: unknown): string {
  if (data === undefined) return "";
  try {
    return v8.serialize(data).toString("base64");
  } catch {
    return "";
  }
}

function decodeData(text: string | undefined): unknown {
  if (!text) return {};
  try {
    return v8.deserialize(Buffer.from(text, "base64"));
  } catch {
    return {};
  }
}

export interface SessionStoreOptions {
  /** Key prefix of the records. Default `sio-rt:session:`. */
  prefix?: string;
  /** Socket.IO's `maxDisconnectionDuration` (ms): how long a disconnected session is kept. */
  window: number;
}

/**
 * Session records in Redis, written by the worker that serves each session while it is connected
 * and read by whichever worker the client comes back to. A record names its owner by the owner's
 * Redis connection id: when a worker dies (SIGKILL included) the kernel closes its connections,
 * Redis forgets the id at once, and the record becomes restorable; while the owner's connection is
 * open, the session counts as connected and is not restored (so that two clients never get one id).
 */
export class RedisSessionStore {
  private readonly prefix: string;
  /** How long a connected session's record lives without a refresh (ms): the window plus one refresh period. */
  readonly connectedTtl: number;
  /** How often the owner refreshes the TTL of its connected records (ms). */
  readonly refreshEvery: number;
  private ownerId: string | undefined;
  private readonly ownerListeners: Array<() => void> = [];

  constructor(
    private readonly client: RedisClientType,
    private readonly options: SessionStoreOptions,
  ) {
    this.prefix = options.prefix ?? "sio-rt:session:";
    this.refreshEvery = Math.min(30_000, Math.max(1000, Math.floor(options.window / 4)));
    this.connectedTtl = options.window + this.refreshEvery;
  }

  /** Learns this connection's id (records are written once it is known); follows reconnections (a new connection has a new id). */
  async start(): Promise<void> {
    this.client.on("reconnecting", () => (this.ownerId = undefined));
    this.client.on("end", () => (this.ownerId = undefined));
    this.client.on("ready", () => void this.learnOwner());
    await this.learnOwner();
  }

  private async learnOwner(): Promise<void> {
    try {
      this.ownerId = String(await this.client.clientId());
      debug("owner id %s", this.ownerId);
      for (const listener of this.ownerListeners) listener();
    } catch (err) {
      debug("CLIENT ID: %s", (err as Error).message);
    }
  }

  /** This worker's owner id, `undefined` while its Redis connection is down. */
  get owner(): string | undefined {
    return this.ownerId;
  }

  /** `listener` runs whenever the owner id changes (after a reconnection): records must be rewritten. */
  onOwnerChange(listener: () => void): void {
    this.ownerListeners.push(listener);
  }

  private key(pid: string): string {
    return this.prefix + pid;
  }

  /** Writes a connected session's record (`owner` = this worker), or a disconnected one (`owner` = ""). */
  async write(session: Omit<SessionRecord, "owner">, owner: string): Promise<void> {
    const key = this.key(session.pid);
    await Promise.all([
      this.client.hSet(key, {
        sid: session.sid,
        nsp: session.nsp,
        rooms: JSON.stringify(session.rooms),
        data: encodeData(session.data),
        owner,
        token: session.token,
        start: session.start,
      }),
      this.client.pExpire(key, owner === "" ? this.options.window : this.connectedTtl),
    ]);
  }

  /** Keeps connected records alive while their owner lives. */
  async refresh(pids: string[]): Promise<void> {
    for (let i = 0; i < pids.length; i += 500) {
      await Promise.all(pids.slice(i, i + 500).map((pid) => this.client.pExpire(this.key(pid), this.connectedTtl)));
    }
  }

  /** Drops a record (a session that ended without recovery). */
  async remove(pid: string): Promise<void> {
    await this.client.del(this.key(pid));
  }

  /** The record of `pid`, or `null`. */
  async read(pid: string): Promise<SessionRecord | null> {
    if (pid.length === 0 || pid.length > MAX_PID_LENGTH) return null;
    const raw = await this.client.hGetAll(this.key(pid));
    if (!raw.token || raw.sid === undefined || raw.nsp === undefined) return null;
    let rooms: unknown;
    try {
      rooms = JSON.parse(raw.rooms ?? "[]");
    } catch {
      return null;
    }
    if (!Array.isArray(rooms)) return null;
    return {
      sid: raw.sid,
      pid,
      nsp: raw.nsp,
      rooms: rooms.map(String),
      data: decodeData(raw.data),
      owner: raw.owner ?? "",
      token: raw.token,
      start: raw.start ?? "",
    };
  }

  /**
   * Whether the session may be restored now: it disconnected cleanly, or its owner's Redis
   * connection is gone (the owner died). When the check itself fails, it counts as alive.
   */
  async ownerGone(record: SessionRecord): Promise<boolean> {
    if (record.owner === "") return true;
    if (!/^\d+$/.test(record.owner)) return true;
    try {
      const listed = await this.client.sendCommand(["CLIENT", "LIST", "ID", record.owner]);
      return String(listed ?? "").trim() === "";
    } catch (err) {
      debug("CLIENT LIST: %s", (err as Error).message);
      return false;
    }
  }

  /** Deletes the record if it is still the one read (its token): true for exactly one caller. */
  async take(record: SessionRecord): Promise<boolean> {
    return (await this.client.eval(TAKE, { keys: [this.key(record.pid)], arguments: [record.token] })) === 1;
  }
}

/** A fresh token for a new incarnation of a session. */
export const newToken = (): string => randomBytes(6).toString("base64url");
