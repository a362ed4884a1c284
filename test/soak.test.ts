import { describe, expect, it } from "vitest";
import { eventually } from "./helpers/clients";
import { contentTypeFamily } from "./helpers/fuzz/content-types";
import { engineIoFamily } from "./helpers/fuzz/engineio";
import { mutationFamily } from "./helpers/fuzz/mutations";
import { oversizedFamily } from "./helpers/fuzz/oversized";
import { rawHttpFamily } from "./helpers/fuzz/raw-http";
import { runFuzz } from "./helpers/fuzz/runner";
import { sessionIdFamily } from "./helpers/fuzz/session-ids";
import { socketIoFamily } from "./helpers/fuzz/socketio";
import { engineFromEnv, skipUnlessServes } from "./helpers/engines";
import { startServer } from "./helpers/server";
import { gcHookNodeOptions, settledMemory, type Memory } from "./helpers/fuzz/memory";
import { connectChatter, DISCONNECTED, MB, type Chatter, type Sent } from "./helpers/soak";

/**
 * Soak and chaos (issue 6): a few thousand clients chat in rooms with acks while workers are
 * SIGKILLed at random and malformed input (the fuzz families of test/fuzz.test.ts) flows beside them. Bounded: about
 * SOAK_SECONDS (default 120) of load; `SOAK_SECONDS=1800 npx vitest run test/soak.test.ts` for a long one.
 */
const SECONDS = Number(process.env.SOAK_SECONDS ?? 120);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 2000);
const ROOM_SIZE = 50;
/** Each client sends one message per this period on average (ms). */
const PERIOD_MS = Number(process.env.SOAK_PERIOD_MS ?? 4000);
/** A worker is SIGKILLed about this often (ms). */
const KILL_EVERY_MS = Number(process.env.SOAK_KILL_EVERY_MS ?? 20_000);
/**
 * Workers SIGKILLed in the run: a count, not a rate. On a slow or busy machine each kill and its
 * replacement take longer, and the run lasts until every kill is done (and at least SECONDS).
 */
const KILLS = Math.max(1, Math.floor((SECONDS * 1000) / KILL_EVERY_MS) - 1);
const WORKERS = 2;
const MAX_HTTP_BUFFER_SIZE = 100_000;
/** Concurrent fuzz senders beside the chat (see test/fuzz.test.ts for the families). */
const FUZZ_SENDERS = 4;
const FUZZ_FAMILIES = [engineIoFamily, socketIoFamily, sessionIdFamily, oversizedFamily, contentTypeFamily, rawHttpFamily, mutationFamily].map(
  (family) => ({ family, weight: 1 }),
);
/**
 * How long a message may wait for its ack (ms): generous, a bound on a stall, not a speed. A
 * message in flight when its worker dies is not timed out but rejected at the disconnection.
 */
const ACK_TIMEOUT_MS = 30_000;
/** Recovery window of the run (ms). */
const WINDOW_MS = Math.min(30_000, (SECONDS * 1000) / 4);

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The soak drives the uWS engine (the default). Where uWS cannot serve (Node 22/24 on glibc < 2.38)
// it is skipped: the Node engine does not pass it yet (README, "Tests"): after a kill, restores wait
// seconds behind the primary's connection hand-overs (Node's IPC channel holds every message to a
// worker behind each handle awaiting its acknowledgement), and some clients start afresh.
// `SOAK_ENGINE=node` runs it on the Node engine all the same, to measure that.
const ENGINE = engineFromEnv("SOAK_ENGINE");
describe.skipIf(skipUnlessServes(ENGINE))(`soak and chaos (ENGINE=${ENGINE})`, () => {
  it(`${CLIENTS} clients chatting with acks for ${SECONDS} s while workers are SIGKILLed: every acked message delivered exactly once, RSS flat`, async () => {
    // recovery keeps broadcasts RECOVERY_WINDOW ms: a shorter window than the default lets the run
    // reach its steady state (what is kept stops growing) well before it ends
    const server = await startServer({
      workers: WORKERS,
      engine: ENGINE,
      app: "echo",
      // NODE_OPTIONS: every process runs a full GC on SIGURG (SIGUSR2 hands over), so that memory is compared after GC
      env: { RECOVERY_WINDOW: String(WINDOW_MS), MAX_HTTP_BUFFER_SIZE: String(MAX_HTTP_BUFFER_SIZE), NODE_OPTIONS: gcHookNodeOptions() },
    });
    const chatters: Chatter[] = [];
    const sent: Sent[] = [];
    const kills: number[] = [];
    const rooms = Math.max(1, Math.ceil(CLIENTS / ROOM_SIZE));
    try {
      // connect in waves (half polling-then-upgrade, half WebSocket only), each joins its room
      for (let start = 0; start < CLIENTS; start += 100) {
        const wave = await Promise.all(
          Array.from({ length: Math.min(100, CLIENTS - start) }, (_, k) => {
            const index = start + k;
            return connectChatter(server.url, index, `room-${index % rooms}`, index % 2 === 1);
          }),
        );
        await Promise.all(wave.map((c) => c.socket.timeout(20_000).emitWithAck("join", c.room)));
        chatters.push(...wave);
      }
      // memory after GC with every client connected: the baseline
      const connected = await settledMemory(server);

      // the chat: every client sends on its own random schedule
      let sending = true;
      const loops = chatters.map(async (c) => {
        await delay(Math.random() * PERIOD_MS);
        for (let seq = 1; sending; seq++) {
          const message: Sent = { id: `${c.index}:${seq}`, room: c.room, acked: false, at: Date.now() };
          sent.push(message);
          try {
            await c.socket.timeout(ACK_TIMEOUT_MS).emitWithAck("shout", { to: { room: c.room }, payload: { m: message.id } });
            message.acked = true;
          } catch (err) {
            // no ack: its socket was disconnected while it was in flight (its worker was killed), so
            // it may or may not have gone out, at most once; anything else is a failure
            message.failure = (err as Error).message;
          }
          await delay(PERIOD_MS * (0.5 + Math.random()));
        }
      });

      // the fuzz, beside the chat, for the whole run
      const started = Date.now();
      const fuzz = runFuzz({
        port: server.port,
        families: FUZZ_FAMILIES,
        total: Number.MAX_SAFE_INTEGER,
        senders: FUZZ_SENDERS,
        seed: 1122,
        workerIds: server.logs.filter((r) => r.event === "worker-start").map((r) => r.worker as number),
        maxHttpBufferSize: MAX_HTTP_BUFFER_SIZE,
        deadline: started + SECONDS * 1000,
      });

      // the chaos: a random worker SIGKILLed now and then
      let mid: Memory | undefined;
      while (kills.length < KILLS) {
        await delay(KILL_EVERY_MS * (0.75 + Math.random() / 2));
        const workers = server.workerPids();
        const victim = workers[Math.floor(Math.random() * workers.length)]!;
        process.kill(victim, "SIGKILL");
        kills.push(victim);
        const lastWorkerId = Math.max(...server.logs.filter((r) => r.event === "worker-start").map((r) => r.worker as number));
        await server.waitForLog((r) => r.event === "worker-exit" && r.pid === victim, 30_000);
        // the replacement listening (a process just forked has not loaded the GC hook that
        // settledMemory's SIGURG needs yet)
        await server.waitForLog((r) => r.event === "listen" && r.role === "worker" && (r.worker as number) > lastWorkerId, 30_000);
        await eventually(() => server.workerPids().length === WORKERS, 30_000, "the replacement worker");
        // mid-run, the recovery window is full: what the primary keeps has reached its steady state
        if (!mid && kills.length >= KILLS / 2) mid = await settledMemory(server);
      }
      // the chat goes on at least SECONDS in all
      await delay(Math.max(0, started + SECONDS * 1000 - Date.now()));
      sending = false;
      await Promise.all(loops);
      const fuzzed = await fuzz;

      // settle: everyone connected again, every acked message arrived everywhere it should
      await eventually(() => chatters.every((c) => c.socket.connected), 60_000, "every client connected");
      const members = new Map<string, Chatter[]>();
      for (const c of chatters) members.set(c.room, [...(members.get(c.room) ?? []), c]);
      const continuous = (c: Chatter) => c.lostAt === undefined;
      const missing = () => {
        let count = 0;
        for (const m of sent) {
          if (!m.acked) continue;
          for (const c of members.get(m.room)!) if (continuous(c) && !c.received.has(m.id)) count++;
        }
        return count;
      };
      await eventually(() => missing() === 0, 60_000, "every acked message delivered").catch(() => undefined);

      const acked = sent.filter((m) => m.acked);
      const byId = new Map(sent.map((m) => [m.id, m]));
      let duplicates = 0;
      let strangers = 0;
      let deliveries = 0;
      for (const c of chatters) {
        for (const [id, times] of c.received) {
          deliveries += times;
          if (times > 1) duplicates++;
          if (byId.get(id)?.room !== c.room) strangers++;
        }
      }
      const lost = chatters.filter((c) => !continuous(c)).length;
      const recovered = chatters.reduce((sum, c) => sum + c.recoveries, 0);
      const end = await settledMemory(server);
      const mb = (bytes: number | undefined) => ((bytes ?? 0) / MB).toFixed(0);
      const workerDeaths = server.logs.filter((r) => r.event === "worker-exit").length;
      const failures = sent.filter((m) => !m.acked);
      const unexpectedFailures = failures.filter((m) => m.failure !== DISCONNECTED);
      const disconnections = chatters.reduce((sum, c) => sum + c.disconnections, 0);
      const elapsed = (Date.now() - started) / 1000;
      console.log(
        `[soak] ${CLIENTS} clients, ${rooms} rooms, ${elapsed.toFixed(0)} s: ${sent.length} messages sent, ${acked.length} acked ` +
          `(${failures.length} rejected in flight at ${disconnections} disconnections), ` +
          `${deliveries} deliveries; ${kills.length} workers SIGKILLed (${workerDeaths} worker exits), ${recovered} sessions recovered, ` +
          `${lost} clients got a new session; missing ${missing()}, duplicates ${duplicates}; ` +
          `fuzz beside: ${fuzzed.inputs} malformed inputs (${(fuzzed.inputs / elapsed).toFixed(0)}/s); ` +
          `after GC, connected / mid-run / end: primary RSS ${mb(connected.primaryRss)} / ${mb(mid?.primaryRss)} / ${mb(end.primaryRss)} MB, ` +
          `primary heap ${mb(connected.primaryHeap)} / ${mb(mid?.primaryHeap)} / ${mb(end.primaryHeap)} MB, ` +
          `workers RSS ${mb(connected.workerRss)} / ${mb(mid?.workerRss)} / ${mb(end.workerRss)} MB, workers heap ${mb(connected.workerHeap)} / ${mb(mid?.workerHeap)} / ${mb(end.workerHeap)} MB`,
      );

      expect(fuzzed.harnessErrors).toEqual([]);
      // the fuzz ran beside the chat (how much of it is a figure, printed above)
      expect(fuzzed.inputs).toBeGreaterThan(0);
      expect(kills).toHaveLength(KILLS);
      // no worker died but the ones killed on purpose, and the cluster is whole
      expect(workerDeaths).toBe(kills.length);
      expect(server.workerPids()).toHaveLength(WORKERS);
      // every client kept its session through every kill (recovery), so every check below covers all of them
      expect(lost).toBe(0);
      expect(recovered).toBeGreaterThan(0);
      // every message was acked, or rejected because its socket was disconnected while it was in
      // flight (at most one per client and disconnection): none timed out, none went unanswered
      expect(unexpectedFailures.map((m) => `${m.id}: ${m.failure}`)).toEqual([]);
      expect(failures.length).toBeLessThanOrEqual(disconnections);
      expect(acked.length).toBeGreaterThan(0);
      expect(missing()).toBe(0);
      expect(duplicates).toBe(0);
      expect(strangers).toBe(0);
      // memory flat, after GC: the primary (recovery log, sessions) from mid-run (its steady state) to
      // the end; the workers (replaced ones included) against the connected baseline: the same
      // clients, heap within noise, RSS within what V8 and malloc keep after a peak
      expect(mid).toBeDefined();
      expect(end.primaryRss).toBeLessThan(mid!.primaryRss * 1.2 + 20 * MB);
      expect(end.primaryHeap).toBeLessThan(mid!.primaryHeap * 1.2 + 10 * MB);
      expect(end.workerHeap).toBeLessThan(connected.workerHeap * 1.3 + 20 * MB);
      expect(end.workerRss).toBeLessThan(connected.workerRss * 1.5 + 50 * MB);
    } finally {
      for (const c of chatters) c.socket.close();
      await server.stop();
    }
  }, (SECONDS + 300) * 1000);
});
