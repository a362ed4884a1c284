// The example's own test: the application on a real cluster (2 workers, started with the
// package's createRuntime), driven by the official client. `npm test`.
import assert from "node:assert/strict";
import net from "node:net";
import { isDeepStrictEqual } from "node:util";
import { after, before, describe, it } from "node:test";
import { io, type Socket } from "socket.io-client";
import { createRuntime, type Runtime } from "uws-socketio-cluster";
import type { Answer, ClientToServer, ServerToClient } from "../src/events.js";

type Client = Socket<ServerToClient, ClientToServer>;

/** A free TCP port on loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The next `event` the client receives that matches `accept`. */
function next<E extends keyof ServerToClient>(client: Client, event: E, accept: (...args: Parameters<ServerToClient[E]>) => boolean = () => true) {
  return new Promise<Parameters<ServerToClient[E]>>((resolve) => {
    const listener = (...args: Parameters<ServerToClient[E]>) => {
      if (!accept(...args)) return;
      client.off(event, listener as never);
      resolve(args);
    };
    client.on(event, listener as never);
  });
}

/** The answer's payload, failing the test with its error otherwise. */
function ok<T extends object>(answer: Answer<T>): T {
  if (!answer.ok) assert.fail(answer.error);
  return answer;
}

describe("chat example", { timeout: 120_000 }, () => {
  let runtime: Runtime;
  const clients: Client[] = [];
  const connect = async (): Promise<Client> => {
    const client: Client = io(runtime.url, { reconnectionDelay: 100, reconnectionDelayMax: 500, ackTimeout: 30_000 });
    clients.push(client);
    await new Promise<void>((resolve, reject) => client.once("connect", resolve).once("connect_error", reject));
    return client;
  };
  /** Connects clients until one is served by a worker other than `other`'s (joins them to `room` as `name`). */
  const joinElsewhere = async (room: string, name: string, other: string) => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const client = await connect();
      const answer = ok(await client.emitWithAck("join", { room, name: `${name}${attempt}` }));
      if (answer.served !== other) return { client, name: `${name}${attempt}`, served: answer.served };
      client.close();
    }
    return assert.fail("every client reached the same worker");
  };

  before(async () => {
    runtime = createRuntime({ app: "src/app.ts", settings: { port: await freePort(), host: "127.0.0.1", workers: 2 } });
    await runtime.start();
  });
  after(async () => {
    for (const client of clients) client.close();
    assert.equal(await runtime.stop(), 0);
  });

  it("room chat with presence spans both workers", async () => {
    const ada = await connect();
    const first = ok(await ada.emitWithAck("join", { room: "lobby", name: "ada" }));
    assert.deepEqual(first.members, ["ada"]);
    // ada hears the presence of every bob that joins (those served by her worker leave again)
    const presences: string[][] = [];
    ada.on("presence", ({ members }) => presences.push(members));
    const bob = await joinElsewhere("lobby", "bob", first.served);
    assert.notEqual(bob.served, first.served);
    const withBob = (members: string[]) => isDeepStrictEqual(members, ["ada", bob.name]);
    if (!presences.some(withBob)) await next(ada, "presence", ({ members }) => withBob(members));

    const elsewhere = await connect();
    ok(await elsewhere.emitWithAck("join", { room: "attic", name: "eve" }));
    let leaked = false;
    elsewhere.on("message", () => (leaked = true));
    const heard = next(bob.client, "message");
    ok(await ada.emitWithAck("say", "hello from ada"));
    assert.deepEqual((await heard)[0], { room: "lobby", from: "ada", text: "hello from ada" });

    const taken = await (await connect()).emitWithAck("join", { room: "lobby", name: "ada" });
    assert.deepEqual(taken, { ok: false, error: "ada is taken in lobby" });

    const left = next(ada, "presence", ({ members }) => !members.includes(bob.name));
    bob.client.close();
    assert.deepEqual((await left)[0].members, ["ada"]);
    assert.equal(leaked, false);
  });

  it("whispers are acknowledged by their recipient, on another worker", async () => {
    const cy = await connect();
    const first = ok(await cy.emitWithAck("join", { room: "den", name: "cy" }));
    const dee = await joinElsewhere("den", "dee", first.served);
    dee.client.on("whisper", ({ from, text }, ack) => ack(from === "cy" && text === "psst"));
    assert.deepEqual(await cy.emitWithAck("whisper", { to: dee.name, text: "psst" }), { ok: true, delivered: true });
    assert.deepEqual(await cy.emitWithAck("whisper", { to: "nobody", text: "psst" }), { ok: false, error: "nobody called nobody in den" });
    assert.deepEqual(await cy.emitWithAck("whisper", { to: dee.name, text: "" }), { ok: false, error: "whisper { to, text } with 1 to 500 characters" });
  });

  it("a rolling reload keeps every client in its room, with its session", async () => {
    const fay = await connect();
    const first = ok(await fay.emitWithAck("join", { room: "hall", name: "fay" }));
    const gus = await joinElsewhere("hall", "gus", first.served);
    const ids = [fay.id, gus.client.id];
    await runtime.reload(); // both workers replaced: both clients were moved
    for (const client of [fay, gus.client]) {
      if (!client.connected || !client.recovered) await new Promise((resolve) => client.once("connect", () => resolve(undefined)));
      assert.equal(client.recovered, true);
    }
    assert.deepEqual([fay.id, gus.client.id], ids);
    const heard = next(gus.client, "message");
    ok(await fay.emitWithAck("say", "still here"));
    assert.deepEqual((await heard)[0], { room: "hall", from: "fay", text: "still here" });
  });
});
