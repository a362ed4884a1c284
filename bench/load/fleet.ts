import type { ChildProcess } from "node:child_process";
import createDebug from "debug";
import type { CompiledScripts } from "../lib/compile";
import { isAlive, signal, sleep, spawnNode } from "../lib/processes";
import type { Command, Reply, Tick } from "./messages";
import type { Usage } from "./usage";

const debug = createDebug("bench:fleet");

export interface Answer<T> {
  result: T;
  usage: Usage;
}

interface Generator {
  child: ChildProcess;
  pending: Map<number, { resolve: (answer: Answer<unknown>) => void; reject: (err: Error) => void }>;
  tick: number;
}

/**
 * The load-generator processes, as the harness sees them: commands to one or all of them,
 * their progress counters, and their CPU / loop-lag reports.
 */
export class Fleet {
  private readonly generators: Generator[] = [];
  private nextId = 1;

  private constructor() {}

  static async start(count: number, scripts: CompiledScripts): Promise<Fleet> {
    const fleet = new Fleet();
    for (let i = 0; i < count; i++) {
      const child = spawnNode([scripts.file("generator")], {
        env: scripts.env,
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        nodeArgs: ["--max-old-space-size=4096"],
      });
      const generator: Generator = { child, pending: new Map(), tick: 0 };
      child.on("message", (message: Reply | Tick) => {
        if ("tick" in message) {
          generator.tick = message.tick;
          return;
        }
        const waiter = generator.pending.get(message.id);
        if (!waiter) return;
        generator.pending.delete(message.id);
        if (message.ok) waiter.resolve({ result: message.result, usage: message.usage });
        else waiter.reject(new Error(`generator ${i}: ${message.error}`));
      });
      child.on("exit", (code, sig) => {
        for (const waiter of generator.pending.values()) waiter.reject(new Error(`generator ${i} exited (${code ?? sig})`));
        generator.pending.clear();
      });
      fleet.generators.push(generator);
    }
    // wait until every process answers
    await fleet.all({ cmd: "status" });
    debug("%d generators up", count);
    return fleet;
  }

  get size(): number {
    return this.generators.length;
  }

  pids(): number[] {
    return this.generators.map((g) => g.child.pid!);
  }

  /** Sum of the generators' running counters (for the progress line). */
  progress(): number {
    return this.generators.reduce((sum, g) => sum + g.tick, 0);
  }

  one<T>(index: number, command: Command, timeoutMs = 300_000): Promise<Answer<T>> {
    const generator = this.generators[index]!;
    const id = this.nextId++;
    return new Promise<Answer<T>>((resolve, reject) => {
      const timer = setTimeout(() => {
        generator.pending.delete(id);
        reject(new Error(`generator ${index}: ${command.cmd} took more than ${timeoutMs / 1000} s`));
      }, timeoutMs);
      generator.pending.set(id, {
        resolve: (answer) => {
          clearTimeout(timer);
          resolve(answer as Answer<T>);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      generator.tick = 0;
      generator.child.send({ ...command, id });
    });
  }

  all<T>(command: Command, timeoutMs?: number): Promise<Array<Answer<T>>> {
    return Promise.all(this.generators.map((_, i) => this.one<T>(i, command, timeoutMs)));
  }

  /** A different command for each generator. */
  each<T>(commandOf: (index: number) => Command, timeoutMs?: number): Promise<Array<Answer<T>>> {
    return Promise.all(this.generators.map((_, i) => this.one<T>(i, commandOf(i), timeoutMs)));
  }

  /** Asks every generator to exit, then kills those still alive (by PID). */
  async stop(): Promise<void> {
    for (const g of this.generators) if (g.child.connected) g.child.send({ cmd: "exit", id: 0 });
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && this.pids().some(isAlive)) await sleep(50);
    for (const pid of this.pids()) if (isAlive(pid)) signal(pid, "SIGKILL");
  }
}
