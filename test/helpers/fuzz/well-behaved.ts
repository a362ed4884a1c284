import type { Socket } from "socket.io-client";
import { connect, eventually, POLLING_ONLY, upgraded, whoami, WS_ONLY, type ClientOptions } from "../clients";

const KINDS: Record<string, ClientOptions> = { websocket: WS_ONLY, polling: POLLING_ONLY, upgrade: {} };

interface Client {
  kind: string;
  socket: Socket;
  id: string;
  instance: string;
  disconnects: string[];
  echoesSent: number;
  echoesAcked: number;
  /** Broadcast number → times received. */
  broadcasts: Map<number, number>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Well-behaved socket.io-client clients (WebSocket, polling, polling upgraded) that keep
 * exchanging numbered echoes with acks and numbered broadcasts while an attack runs, and then
 * say whether any of them was disconnected or missed or got twice a message.
 */
export class WellBehavedClients {
  private running = false;
  private loops: Promise<void>[] = [];
  broadcastsSent = 0;
  readonly errors: string[] = [];

  private constructor(readonly clients: Client[]) {}

  /**
   * Connects `perKind` clients of each kind, and more (up to 60) until they are spread over
   * `workers` workers (the kernel picks the worker of each connection); resolves once every one is
   * connected (and upgraded).
   */
  static async connect(url: string, perKind = 3, workers = 1): Promise<WellBehavedClients> {
    const clients: Client[] = [];
    const add = async (kind: string) => {
      const socket = await connect(url, { ...KINDS[kind], timeout: 20_000 });
      if (kind === "upgrade") await upgraded(socket);
      const client: Client = { kind, socket, id: socket.id!, instance: "", disconnects: [], echoesSent: 0, echoesAcked: 0, broadcasts: new Map() };
      socket.on("disconnect", (reason) => client.disconnects.push(reason));
      socket.on("broadcast", (payload: { wb?: number } | undefined) => {
        if (typeof payload?.wb === "number") client.broadcasts.set(payload.wb, (client.broadcasts.get(payload.wb) ?? 0) + 1);
      });
      clients.push(client);
      client.instance = (await whoami(socket)).instance;
    };
    for (const kind of Object.keys(KINDS)) for (let i = 0; i < perKind; i++) await add(kind);
    const kinds = Object.keys(KINDS);
    for (let extra = 0; new Set(clients.map((c) => c.instance)).size < workers && extra < 60; extra++) await add(kinds[extra % kinds.length]!);
    return new WellBehavedClients(clients);
  }

  /** Workers serving these clients. */
  instances(): Set<string> {
    return new Set(this.clients.map((c) => c.instance));
  }

  /** Starts the traffic: each client echoes numbered messages with acks; one broadcast every `broadcastEveryMs`. */
  start(echoEveryMs = 40, broadcastEveryMs = 100): void {
    this.running = true;
    for (const client of this.clients) {
      this.loops.push(
        (async () => {
          while (this.running) {
            const n = client.echoesSent++;
            try {
              const answer = (await client.socket.timeout(30_000).emitWithAck("echo", { c: client.id, n })) as { n?: number };
              if (answer?.n === n) client.echoesAcked++;
              else this.errors.push(`${client.kind} ${client.id}: echo ${n} answered ${JSON.stringify(answer)}`);
            } catch (err) {
              this.errors.push(`${client.kind} ${client.id}: echo ${n} failed: ${(err as Error).message}`);
            }
            await sleep(echoEveryMs);
          }
        })(),
      );
    }
    this.loops.push(
      (async () => {
        while (this.running) {
          const n = this.broadcastsSent++;
          const sender = this.clients[n % this.clients.length]!;
          try {
            await sender.socket.timeout(30_000).emitWithAck("shout", { to: "all", payload: { wb: n } });
          } catch (err) {
            this.errors.push(`broadcast ${n} from ${sender.id} failed: ${(err as Error).message}`);
          }
          await sleep(broadcastEveryMs);
        }
      })(),
    );
  }

  /** Stops the traffic; resolves once every message in flight was answered. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** Problems seen (empty when every client stayed connected with its id and got every message once). */
  async verify(timeoutMs = 15_000): Promise<string[]> {
    const everyBroadcast = () => this.clients.every((c) => c.broadcasts.size >= this.broadcastsSent);
    await eventually(everyBroadcast, timeoutMs, "every broadcast at every client").catch(() => undefined);
    const problems = [...this.errors];
    for (const c of this.clients) {
      const who = `${c.kind} client ${c.id} (${c.instance})`;
      if (!c.socket.connected) problems.push(`${who} is not connected`);
      if (c.socket.id !== c.id) problems.push(`${who} now has id ${c.socket.id}`);
      if (c.disconnects.length > 0) problems.push(`${who} was disconnected: ${c.disconnects.join(", ")}`);
      if (c.echoesAcked !== c.echoesSent) problems.push(`${who}: ${c.echoesAcked} of ${c.echoesSent} echoes acked`);
      for (let n = 0; n < this.broadcastsSent; n++) {
        const times = c.broadcasts.get(n) ?? 0;
        if (times !== 1) problems.push(`${who} got broadcast ${n} ${times} times`);
      }
    }
    return problems.slice(0, 50);
  }

  /** Totals for the report. */
  totals(): { clients: number; echoes: number; broadcastsSent: number; broadcastsDelivered: number } {
    return {
      clients: this.clients.length,
      echoes: this.clients.reduce((sum, c) => sum + c.echoesAcked, 0),
      broadcastsSent: this.broadcastsSent,
      broadcastsDelivered: this.clients.reduce((sum, c) => sum + [...c.broadcasts.values()].reduce((a, b) => a + b, 0), 0),
    };
  }

  close(): void {
    for (const c of this.clients) c.socket.close();
  }
}
