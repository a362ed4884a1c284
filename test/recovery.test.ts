import path from "node:path";
import { Manager, type Socket } from "socket.io-client";
import { describe, expect, it } from "vitest";
import { byInstance, closeAll, connect, connectMany, eventually, whoami, WS_ONLY } from "./helpers/clients";
import { startNumberedStream } from "./helpers/numbered-stream";
import { startServer } from "./helpers/server";
import { ENGINES } from "./helpers/engines";

const reconnecting = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500 };
/** The echo application plus handlers that SIGKILL their worker right after an ack or a CONNECT. */
const ACK_THEN_KILL = { APP_MODULE: path.join(__dirname, "fixtures", "ack-then-kill-app.js") };

interface Receiver {
  socket: Socket;
  id: string;
  numbers: number[];
  roomNumbers: number[];
  recoveries: number;
}

describe.each(ENGINES)("connection state recovery across the cluster, ENGINE=%s", (engine) => {
  it("a numbered broadcast stream reaches every client exactly once, in order, through a SIGKILL and a rolling restart", async () => {
    const server = await startServer({ workers: 4, engine });
    const sockets = [
      ...(await connectMany(server.url, 8, reconnecting)),
      ...(await connectMany(server.url, 8, { ...WS_ONLY, ...reconnecting })),
    ];
    const sender = await connect(server.url, { ...WS_ONLY, ...reconnecting });
    const receivers: Receiver[] = sockets.map((socket) => ({ socket, id: socket.id!, numbers: [], roomNumbers: [], recoveries: 0 }));
    try {
      for (const r of receivers) {
        r.socket.on("broadcast", (payload: { n?: number; room?: number }) => {
          if (typeof payload?.n === "number") r.numbers.push(payload.n);
          if (typeof payload?.room === "number") r.roomNumbers.push(payload.room);
        });
        r.socket.on("connect", () => {
          if (r.socket.recovered) r.recoveries++;
        });
      }
      // half of them in a room: room broadcasts must follow them through recovery
      const inRoom = receivers.filter((_, i) => i % 2 === 0);
      await Promise.all(inRoom.map((r) => r.socket.timeout(30_000).emitWithAck("join", "odd-room")));
      const groups = await byInstance([...sockets, sender]);
      const senderInstance = [...groups.entries()].find(([, members]) => members.includes(sender))![0];

      // the stream: one numbered broadcast every 10 ms (every 5th also to the room), acked by the server
      const stream = startNumberedStream(sender, "odd-room", 10);
      const { acked, roomAcked } = stream;

      await eventually(() => acked.length >= 20, 30_000, "the stream to start");
      // 1. SIGKILL a worker that is not the sender's
      const victim = [...groups.keys()].find((instance) => instance !== senderInstance)!;
      const victimPid = server.logs.find((r) => r.event === "worker-start" && `worker-${r.worker}` === victim)!.pid as number;
      process.kill(victimPid, "SIGKILL");
      await server.waitForLog((r) => r.event === "worker-start" && (r.worker as number) > 4);
      await eventually(() => receivers.every((r) => r.socket.connected), 30_000, "reconnections after the kill");
      const afterKill = acked.length;
      await eventually(() => acked.length >= afterKill + 20, 30_000, "the stream to go on");
      // 2. rolling restart of every worker
      server.child.kill("SIGHUP");
      await server.waitForLog((r) => r.event === "rolling-restart-done", 60_000);
      await eventually(() => receivers.every((r) => r.socket.connected) && sender.connected, 30_000, "reconnections");
      const afterRoll = acked.length;
      await eventually(() => acked.length >= afterRoll + 20, 30_000, "the stream to go on");
      await stream.stop();
      // everything acked has been delivered: wait for the last acked number everywhere
      const last = acked[acked.length - 1]!;
      await eventually(() => receivers.every((r) => r.numbers.includes(last)), 30_000, "the last number");

      for (const r of receivers) {
        // exactly once, in order
        expect(r.numbers).toEqual([...r.numbers].sort((a, b) => a - b));
        expect(new Set(r.numbers).size).toBe(r.numbers.length);
        const missing = acked.filter((n) => !r.numbers.includes(n));
        expect(missing, `receiver ${r.id} missed`).toEqual([]);
        // same id after every reconnection
        expect(r.socket.id).toBe(r.id);
      }
      // every receiver of the killed worker and of the rolled ones recovered at least once
      expect(receivers.every((r) => r.recoveries >= 1)).toBe(true);
      // the room followed its members
      const lastRoom = roomAcked[roomAcked.length - 1]!;
      await eventually(() => inRoom.every((r) => r.roomNumbers.includes(lastRoom)), 30_000, "the last room number");
      for (const r of receivers) {
        if (inRoom.includes(r)) {
          expect(roomAcked.filter((n) => !r.roomNumbers.includes(n))).toEqual([]);
          expect(new Set(r.roomNumbers).size).toBe(r.roomNumbers.length);
        } else {
          expect(r.roomNumbers).toEqual([]);
        }
      }
    } finally {
      closeAll([...sockets, sender]);
      const code = await server.stop();
      if (code !== 0) console.log("LOGS", JSON.stringify(server.logs.filter((r) => r.level >= 40 || r.role === "primary").slice(-12)), server.stderr.join("").slice(-2000));
      expect(code).toBe(0);
    }
  });

  it("broadcasts of several workers interleaved into one room reach clients that keep moving between workers exactly once, in each sender's order", async () => {
    // every worker numbers and delivers its own broadcasts first, and the others get them one hop
    // later: receivers that reconnect (to whichever worker the kernel picks) in the middle of
    // four interleaved streams must still get each stream whole, once, in order
    const server = await startServer({ workers: 4, engine });
    const candidates = await connectMany(server.url, 16, WS_ONLY);
    const receivers = [
      ...(await connectMany(server.url, 5, reconnecting)),
      ...(await connectMany(server.url, 5, { ...WS_ONLY, ...reconnecting })),
    ];
    const outsiders = await connectMany(server.url, 2, { ...WS_ONLY, ...reconnecting });
    const everyone = [...candidates, ...receivers, ...outsiders];
    try {
      // one sender per worker
      const senders = [...(await byInstance(candidates)).values()].map((group) => group[0]!);
      expect(senders.length).toBeGreaterThanOrEqual(2);
      const got = receivers.map(() => new Map<number, number[]>());
      receivers.forEach((socket, i) =>
        socket.on("broadcast", (payload: { k: number; n: number }) => {
          const list = got[i]!.get(payload.k) ?? [];
          list.push(payload.n);
          got[i]!.set(payload.k, list);
        }),
      );
      const outsiderGot: unknown[] = [];
      for (const socket of outsiders) socket.on("broadcast", (payload: unknown) => outsiderGot.push(payload));
      await Promise.all(receivers.map((socket) => socket.timeout(30_000).emitWithAck("join", "mix")));
      const ids = receivers.map((socket) => socket.id);

      let running = true;
      const acked = senders.map(() => [] as number[]);
      const streams = senders.map(async (sender, k) => {
        for (let n = 1; running; n++) {
          await sender.timeout(30_000).emitWithAck("shout", { to: { room: "mix" }, payload: { k, n } });
          acked[k]!.push(n);
          await new Promise((resolve) => setTimeout(resolve, 3));
        }
      });
      await eventually(() => acked.every((list) => list.length >= 10), 30_000, "every stream to start");
      // six rounds: half of the receivers drop their connection at once and come back
      let recoveries = 0;
      let moves = 0;
      for (let round = 0; round < 6; round++) {
        const movers = receivers.filter((_, i) => i % 2 === round % 2);
        const before = await Promise.all(movers.map((socket) => whoami(socket)));
        const back = movers.map((socket) => new Promise<void>((resolve) => socket.once("connect", () => resolve())));
        for (const socket of movers) socket.io.engine.close();
        await Promise.all(back);
        recoveries += movers.filter((socket) => socket.recovered).length;
        const after = await Promise.all(movers.map((socket) => whoami(socket)));
        moves += after.filter((info, i) => info.instance !== before[i]!.instance).length;
        const sent = acked.map((list) => list.length);
        await eventually(() => acked.every((list, k) => list.length >= sent[k]! + 5), 30_000, "the streams to go on");
      }
      running = false;
      await Promise.all(streams);
      // everything acknowledged was broadcast: wait for each stream's last number everywhere
      await eventually(() => got.every((streamsGot) => acked.every((list, k) => streamsGot.get(k)?.includes(list[list.length - 1]!))), 30_000, "the last numbers");
      console.log(`[${engine}] ${senders.length} interleaved streams, ${acked.reduce((n, list) => n + list.length, 0)} broadcasts; ${recoveries} recoveries of 30, ${moves} to another worker`);
      expect(recoveries).toBe(30);
      expect(moves).toBeGreaterThan(0);
      for (const [i, streamsGot] of got.entries()) {
        for (const [k, list] of acked.entries()) expect(streamsGot.get(k), `receiver ${i}, stream ${k}`).toEqual(list);
      }
      expect(receivers.map((socket) => socket.id)).toEqual(ids);
      expect(outsiderGot).toEqual([]);
    } finally {
      closeAll(everyone);
      expect(await server.stop()).toBe(0);
    }
  });

  it("broadcasts a handler sent before its acknowledgement reach every worker, though the worker dies right after the ack", async () => {
    // a worker writes what it sends the primary once per event-loop turn, and before every packet
    // to one client (an ack): the handler here broadcasts, acks and SIGKILLs its worker in one turn
    const COUNT = 50;
    const server = await startServer({ workers: 2, engine, env: ACK_THEN_KILL });
    const sender = await connect(server.url, WS_ONLY);
    const senderInstance = (await whoami(sender)).instance;
    const receivers: Socket[] = [];
    try {
      // receivers on both workers (the kernel places each connection: connect until both serve)
      const placed = new Map<string, number>();
      while ((placed.get(senderInstance) ?? 0) === 0 || placed.size < 2) {
        if (receivers.length >= 40) throw new Error(`40 receivers all on ${[...placed.keys()].join(", ")}`);
        const socket = await connect(server.url, { ...WS_ONLY, ...reconnecting });
        receivers.push(socket);
        const { instance } = await whoami(socket);
        placed.set(instance, (placed.get(instance) ?? 0) + 1);
      }
      const got = receivers.map(() => [] as number[]);
      receivers.forEach((socket, i) => socket.on("broadcast", (payload: { n: number }) => got[i]!.push(payload.n)));
      await Promise.all(receivers.map((socket) => socket.timeout(30_000).emitWithAck("join", "last-words")));
      const ids = receivers.map((socket) => socket.id);

      const answer: unknown = await sender.timeout(30_000).emitWithAck("shoutThenDie", { room: "last-words", count: COUNT });
      expect(answer).toBe(COUNT);
      await server.waitForLog((r) => r.event === "worker-start" && (r.worker as number) > 2);
      // every receiver (the dead worker's, restored elsewhere, and the other worker's) gets all of them, once, in order
      const all = Array.from({ length: COUNT }, (_, i) => i + 1);
      await eventually(() => got.every((list) => list.length >= COUNT) && receivers.every((socket) => socket.connected), 30_000, "every broadcast everywhere");
      for (const [i, list] of got.entries()) expect(list, `receiver ${i}`).toEqual(all);
      expect(receivers.map((socket) => socket.id)).toEqual(ids);
    } finally {
      closeAll([sender, ...receivers]);
      expect(await server.stop()).toBe(0);
    }
  });

  it("a session whose worker dies right after its CONNECT is restored: its record left the worker before the CONNECT", async () => {
    const server = await startServer({ workers: 2, engine, env: ACK_THEN_KILL });
    const manager = new Manager(server.url, { ...WS_ONLY, ...reconnecting });
    const socket = manager.socket("/die-on-connect");
    try {
      const first = await new Promise<string>((resolve) => socket.once("connect", () => resolve(socket.id!)));
      await server.waitForLog((r) => r.event === "worker-start" && (r.worker as number) > 2);
      await eventually(() => socket.connected && socket.id === first, 30_000, "the same session back");
      expect(socket.recovered).toBe(true);
    } finally {
      socket.close();
      expect(await server.stop()).toBe(0);
    }
  });

  it("two namespaces of one client restored at the same moment each get their own session back", async () => {
    // the tutorial page's shape: one connection, namespaces `/` and `/my-namespace`. When its worker
    // dies, both namespaces ask the primary for their session at once, from the same new worker.
    const server = await startServer({ workers: 1, engine, app: "chat", env: { DEBUG: process.env.FAULT_DEBUG ?? "" } });
    const manager = new Manager(server.url, { ...WS_ONLY, ...reconnecting });
    const main = manager.socket("/");
    const other = manager.socket("/my-namespace");
    try {
      await eventually(() => main.connected && other.connected, 30_000, "both namespaces connected");
      const before = { main: main.id, other: other.id };
      expect(before.main).not.toBe(before.other);
      const [worker] = server.workerPids();
      process.kill(worker!, "SIGKILL");
      await eventually(() => !main.connected, 30_000, "the disconnection");
      await eventually(() => main.connected && other.connected, 30_000, "both namespaces back");
      if (process.env.FAULT_DEBUG) console.log(server.stderr.join(""));
      expect({ main: main.id, other: other.id }).toEqual(before);
      expect({ main: main.recovered, other: other.recovered }).toEqual({ main: true, other: true });
    } finally {
      main.close();
      other.close();
      expect(await server.stop()).toBe(0);
    }
  });
});
