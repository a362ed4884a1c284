import { io, type Socket } from "socket.io-client";
import type { ClientOptions } from "./clients";

/** A connected chat client that records every event it receives, in order. */
export interface ChatClient {
  socket: Socket;
  /** Every event received: `[name, ...args]`. */
  events: Array<[string, ...unknown[]]>;
  /**
   * Resolves with the args of the first received `event` matching `predicate` that no earlier
   * `next` call took (waiting for it if needed).
   */
  next<T extends unknown[] = unknown[]>(event: string, predicate?: (...args: T) => boolean, timeoutMs?: number): Promise<T>;
  /** The args of every received `event`. */
  all<T extends unknown[] = unknown[]>(event: string): T[];
  /** The worker serving this connection (`worker-<id>`). */
  instance: string;
}

/** Offsets: `<boot>.<low>.<seq>,<seq>…` from the primary's log, `<ms>-<n>` from a Redis stream. */
const OFFSET = /^([0-9a-f]{8}\.[0-9a-z]+\.[0-9a-z,]*|\d+-\d+)$/;

function isRecoveryOffset(socket: Socket, value: unknown): boolean {
  return Boolean((socket as unknown as { _pid?: string })._pid) && typeof value === "string" && OFFSET.test(value);
}

/** Connects a chat client, recording its events from the very first packet. */
export function chatClient(url: string, options: ClientOptions = {}, timeoutMs = 20_000): Promise<ChatClient> {
  const socket = io(url, { forceNew: true, reconnection: false, timeout: timeoutMs, ...options });
  const events: Array<[string, ...unknown[]]> = [];
  const taken = new Set<number>();
  const waiters: Array<() => void> = [];
  socket.onAny((event: string, ...args: unknown[]) => {
    // with connection state recovery, broadcasts carry their offset as a last, extra argument
    if (isRecoveryOffset(socket, args[args.length - 1])) args.pop();
    events.push([event, ...args]);
    for (const wake of waiters.splice(0)) wake();
  });
  const client: ChatClient = {
    socket,
    events,
    instance: "",
    next<T extends unknown[]>(event: string, predicate?: (...args: T) => boolean, waitMs = 30_000) {
      const find = () =>
        events.findIndex((e, i) => !taken.has(i) && e[0] === event && (!predicate || predicate(...(e.slice(1) as T))));
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${event} within ${waitMs} ms`)), waitMs);
        const check = () => {
          const index = find();
          if (index === -1) {
            waiters.push(check);
            return;
          }
          taken.add(index);
          clearTimeout(timer);
          resolve(events[index]!.slice(1) as T);
        };
        check();
      });
    },
    all<T extends unknown[]>(event: string) {
      return events.filter((e) => e[0] === event).map((e) => e.slice(1) as T);
    },
  };
  return new Promise<ChatClient>((resolve, reject) => {
    const onError = (err: Error) => {
      socket.close();
      reject(err);
    };
    socket.once("connect_error", onError);
    socket.once("connect", () => {
      socket.off("connect_error", onError);
      // `serverInfo` is an event of the main namespace only
      if (new URL(url).pathname !== "/") return resolve(client);
      socket
        .timeout(30_000)
        .emitWithAck("serverInfo")
        .then((info: { instance: string }) => {
          client.instance = info.instance;
          resolve(client);
        }, reject);
    });
  });
}

/** Connects clients one at a time until they sit on at least `workers` different workers. */
export async function spreadClients(url: string, count: number, workers: number, options: ClientOptions = {}) {
  const clients: ChatClient[] = [];
  for (let attempts = 0; attempts < count * 10; attempts++) {
    const client = await chatClient(url, options);
    const instances = new Set([...clients.map((c) => c.instance), client.instance]);
    const missing = workers - instances.size;
    const left = count - clients.length - 1;
    if (missing > left) {
      client.socket.close(); // keep looking for a client on a worker we do not have yet
      continue;
    }
    clients.push(client);
    if (clients.length === count) return clients;
  }
  throw new Error(`could not spread ${count} clients over ${workers} workers`);
}
