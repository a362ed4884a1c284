import { io, type ManagerOptions, type Socket, type SocketOptions } from "socket.io-client";

export type ClientOptions = Partial<ManagerOptions & SocketOptions>;

export const WS_ONLY: ClientOptions = { transports: ["websocket"] };
export const POLLING_ONLY: ClientOptions = { transports: ["polling"] };

/** Failed WebSocket probes of each client, as engine.io-client reported them (it does not try again). */
const upgradeErrors = new WeakMap<Socket, string>();

/** Opens a client and resolves once it is connected (rejects on `connect_error` or timeout). */
export function connect(url: string, options: ClientOptions = {}, timeoutMs = 20_000): Promise<Socket> {
  const socket = io(url, { forceNew: true, reconnection: false, timeout: timeoutMs, ...options });
  socket.io.on("open", () =>
    socket.io.engine.on("upgradeError", (err: Error & { description?: unknown }) => {
      const description = err.description instanceof Error ? err.description.message : String(err.description ?? "");
      upgradeErrors.set(socket, `${err.message}${description ? ` (${description})` : ""} at ${new Date().toISOString()}`);
    }),
  );
  return new Promise((resolve, reject) => {
    // only the first outcome counts: a later connect_error (while reconnecting) is the client's own business
    const settle = (err?: Error) => {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("connect_error", settle);
      if (!err) return resolve(socket);
      socket.close();
      reject(err);
    };
    const onConnect = () => settle();
    const timer = setTimeout(() => settle(new Error("connect timed out")), timeoutMs + 1000);
    socket.once("connect", onConnect);
    socket.once("connect_error", settle);
  });
}

/** Opens `count` clients at once; resolves with all of them (rejects if any fails). */
export async function connectMany(url: string, count: number, options: ClientOptions = {}): Promise<Socket[]> {
  const settled = await Promise.allSettled(Array.from({ length: count }, () => connect(url, options)));
  const sockets = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failures = settled.flatMap((s) => (s.status === "rejected" ? [String((s.reason as Error).message)] : []));
  if (failures.length > 0) {
    closeAll(sockets);
    throw new Error(`${failures.length} of ${count} clients failed: ${[...new Set(failures)].join(", ")}`);
  }
  return sockets;
}

/** Resolves once the client's transport is WebSocket. */
export function upgraded(socket: Socket, timeoutMs = 30_000): Promise<void> {
  const engine = socket.io.engine;
  if (engine.transport.name === "websocket") return Promise.resolve();
  // engine.io-client does not try again after a failed probe: the client stays on polling
  const failed = () => upgradeErrors.get(socket);
  if (failed()) return Promise.reject(new Error(`the upgrade of ${socket.id} (engine ${engine.id}) failed: ${failed()}`));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no upgrade for ${socket.id} (engine ${engine.id})${failed() ? `: ${failed()}` : ""}`)), timeoutMs);
    engine.once("upgrade", () => {
      clearTimeout(timer);
      resolve();
    });
    engine.once("upgradeError", () => {
      clearTimeout(timer);
      reject(new Error(`the upgrade of ${socket.id} (engine ${engine.id}) failed: ${failed()}`));
    });
  });
}

export interface WhoAmI {
  instance: string;
  id: string;
  transport: string;
}

export function whoami(socket: Socket): Promise<WhoAmI> {
  return socket.timeout(30_000).emitWithAck("whoami") as Promise<WhoAmI>;
}

/** Records every `event` a socket receives. */
export function record<T = unknown[]>(socket: Socket, event: string): T[] {
  const seen: T[] = [];
  socket.on(event, (...args: unknown[]) => seen.push(args as T));
  return seen;
}

/** Polls `condition` until true (for counts that arrive as events), failing after `timeoutMs`. */
export async function eventually(condition: () => boolean, timeoutMs = 30_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function closeAll(sockets: Socket[]): void {
  for (const socket of sockets) socket.close();
}

/** Groups sockets by the instance (worker) serving them. */
export async function byInstance(sockets: Socket[]): Promise<Map<string, Socket[]>> {
  const infos = await Promise.all(sockets.map(whoami));
  const groups = new Map<string, Socket[]>();
  infos.forEach((info, i) => {
    const group = groups.get(info.instance) ?? [];
    group.push(sockets[i]!);
    groups.set(info.instance, group);
  });
  return groups;
}
