import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatClient, spreadClients, type ChatClient } from "./helpers/chat";
import { startServer, type RunningServer } from "./helpers/server";
import { eventually, WS_ONLY, POLLING_ONLY } from "./helpers/clients";

type Description = [{ description: string }];
const count = (text: string) => Number(/^(\d+) clients connected!$/.exec(text)?.[1] ?? NaN);
const online = async (client: ChatClient) =>
  (await client.socket.timeout(30_000).emitWithAck("whoIsOnline")) as { ok: true; users: string[]; clients: number };
const closeAll = (clients: ChatClient[]) => clients.forEach((c) => c.socket.close());

describe("the seed application on 4 workers (APP=chat)", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ workers: 4, app: "chat" });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it("1 · logs 'A user connected' and 'A user disconnected' with the worker's id", async () => {
    const client = await chatClient(server.url);
    const id = client.socket.id;
    const worker = Number(client.instance.replace("worker-", ""));
    const connected = await server.waitForLog((r) => r.msg === "A user connected" && r.socket === id);
    expect(connected.worker).toBe(worker);
    client.socket.close();
    const disconnected = await server.waitForLog((r) => r.msg === "A user disconnected" && r.socket === id);
    expect(disconnected.worker).toBe(worker);
  });

  it("2, 3 · 4 s after connecting: the built-in `message` and `testerEvent`", async () => {
    const started = Date.now();
    const [polling, websocket] = await Promise.all([chatClient(server.url, POLLING_ONLY), chatClient(server.url, WS_ONLY)]);
    for (const client of [polling, websocket]) {
      expect(await client.next("message", undefined, 8000)).toEqual(["Sent a message 4seconds after connection!"]);
      expect(await client.next("testerEvent", undefined, 8000)).toEqual([
        { description: "A custom event named testerEvent!", message: "This is a test message" },
      ]);
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(3900);
    closeAll([polling, websocket]);
  });

  it("4 · `clientEvent` from a client is logged by the server", async () => {
    const client = await chatClient(server.url);
    client.socket.emit("clientEvent", "Sent an event from the client!");
    const record = await server.waitForLog((r) => r.msg === "clientEvent" && r.socket === client.socket.id);
    expect(record.clientEvent).toBe("Sent an event from the client!");
    client.socket.close();
  });

  it("5, 6 · connects and disconnects on different workers: `broadcast` and `newclientconnect` carry the cluster-wide count", async () => {
    const first = await chatClient(server.url);
    const base = (await online(first)).clients; // clients already connected, this one included
    const others: ChatClient[] = [];
    // connect one by one; each newcomer is welcomed, everyone (newcomer included) gets the new count.
    // The kernel spreads connections over the workers (SO_REUSEPORT): 5 clients all land on one of 4
    // workers about once in 256 runs, so keep connecting (at most 20) until two workers are involved.
    const clients = [first];
    const spread = () => new Set(clients.map((c) => c.instance)).size > 1;
    while (clients.length < 5 || (!spread() && clients.length < 20)) {
      const newcomer = await chatClient(server.url);
      clients.push(newcomer);
      others.push(newcomer);
      const n = base + clients.length - 1;
      expect(await newcomer.next("newclientconnect")).toEqual([{ description: "Hey, welcome!" }]);
      for (const client of clients) {
        await client.next<Description>("broadcast", (d) => count(d.description) === n);
      }
      for (const client of clients.slice(0, -1)) {
        await client.next<Description>("newclientconnect", (d) => d.description === `${n} clients connected!`);
      }
    }
    expect(new Set(clients.map((c) => c.instance)).size).toBeGreaterThan(1);
    // a disconnection is announced to the others with the new count
    const leaving = clients.pop()!;
    const n = base + clients.length - 1;
    leaving.socket.close();
    for (const client of clients) {
      await client.next<Description>("broadcast", (d) => count(d.description) === n);
      await client.next<Description>("newclientconnect", (d) => d.description === `${n} clients connected!`);
    }
    expect((await online(first)).clients).toBe(n);
    closeAll(clients);
  });

  it("5 · concurrent connections over all workers each report a distinct count, the last one the total", async () => {
    const watcher = await chatClient(server.url);
    const base = (await online(watcher)).clients;
    const clients = await Promise.all(Array.from({ length: 12 }, () => chatClient(server.url)));
    const expected = Array.from({ length: 12 }, (_, i) => base + i + 1);
    for (const n of expected) await watcher.next<Description>("broadcast", (d) => count(d.description) === n);
    expect((await online(watcher)).clients).toBe(base + 12);
    closeAll([...clients, watcher]);
  });

  it("7 · rooms: two per room in connection order across the cluster; `connectToRoom` to the room; `leaveRoom`", async () => {
    // fill up a half-used room first so that the next four clients start a fresh one
    // a client's room, once it has one (its seat comes from the shared state, after its connection)
    const roomOfClient = async (c: ChatClient) => {
      await eventually(() => c.all("connectToRoom").length > 0, 30_000, "the client's own join");
      return ((await c.socket.timeout(30_000).emitWithAck("serverInfo")) as { room: number }).room;
    };
    const probe = await chatClient(server.url);
    const probeRoom = await roomOfClient(probe);
    const roomText = (k: number) => `You are in room no. ${k}`;
    const clients: ChatClient[] = [];
    const mates: ChatClient[] = [];
    for (let i = 0; i < 6; i++) clients.push(await chatClient(server.url));
    const rooms = await Promise.all(clients.map(roomOfClient));
    // consecutive clients pair up: each room holds exactly two of them (or one that completes the probe's room)
    const byRoom = new Map<number, ChatClient[]>();
    rooms.forEach((room, i) => byRoom.set(room, [...(byRoom.get(room) ?? []), clients[i]!]));
    for (const [room, members] of byRoom) {
      expect(members.length + (room === probeRoom ? 1 : 0)).toBeLessThanOrEqual(2);
      if (members.length === 2) mates.push(...members);
    }
    expect(rooms).toEqual([...rooms].sort((a, b) => a - b));
    expect(rooms[5]! - rooms[0]!).toBeLessThanOrEqual(3);
    // the first of a pair hears its own join and its mate's; nobody hears another room's
    for (const [room, members] of byRoom) {
      if (members.length !== 2) continue;
      await members[0]!.next("connectToRoom", (t) => t === roomText(room));
      await members[0]!.next("connectToRoom", (t) => t === roomText(room));
      await members[1]!.next("connectToRoom", (t) => t === roomText(room));
    }
    for (const [i, client] of clients.entries()) {
      for (const [text] of client.all<[string]>("connectToRoom")) expect(text).toBe(roomText(rooms[i]!));
    }
    // mates on different workers still share the room: the join reached the other worker
    expect(mates.length).toBeGreaterThanOrEqual(4);
    // leaving the room
    const leaver = clients[0]!;
    expect(await leaver.socket.timeout(30_000).emitWithAck("leaveRoom")).toEqual({ ok: true, room: rooms[0] });
    expect(((await leaver.socket.timeout(30_000).emitWithAck("serverInfo")) as { room: number | null }).room).toBeNull();
    expect(await leaver.socket.timeout(30_000).emitWithAck("leaveRoom")).toEqual({ ok: false, error: "you are in no room" });
    closeAll([...clients, probe]);
  });

  it("8 · usernames: `userSet`, `userExists` across workers, freed on disconnect; `msg` → `newmsg` with the server-side name", async () => {
    const [alice, bob, carol] = await spreadClients(server.url, 3, 3);
    expect(await alice!.socket.timeout(30_000).emitWithAck("setUsername", "alice")).toEqual({ ok: true, username: "alice" });
    expect(await alice!.next("userSet")).toEqual([{ username: "alice" }]);
    // another worker, same name in another case: taken
    bob!.socket.emit("setUsername", "Alice");
    expect(await bob!.next("userExists")).toEqual(["Alice username is taken! Try some other username."]);
    bob!.socket.emit("setUsername", "bob");
    expect(await bob!.next("userSet")).toEqual([{ username: "bob" }]);
    // everyone gets the online list
    await carol!.next<[string[]]>("users", (users) => users.includes("alice") && users.includes("bob"));
    // bob cannot speak as alice: the server uses bob's own name
    bob!.socket.emit("msg", { message: "hello from bob", user: "alice" });
    for (const client of [alice!, bob!, carol!]) {
      expect(await client.next("newmsg")).toEqual([{ message: "hello from bob", user: "bob" }]);
    }
    // a client without a name cannot chat
    expect(await carol!.socket.timeout(30_000).emitWithAck("msg", { message: "hi" })).toEqual({
      ok: false,
      error: "choose a username first (setUsername)",
    });
    // setUsername then msg in a row: the message goes out under the new name
    carol!.socket.emit("setUsername", "carol");
    carol!.socket.emit("msg", { message: "first words" });
    expect(await alice!.next("newmsg")).toEqual([{ message: "first words", user: "carol" }]);
    // the name is freed when its owner disconnects
    alice!.socket.close();
    await bob!.next<[string[]]>("users", (users) => !users.includes("alice"));
    expect(await carol!.socket.timeout(30_000).emitWithAck("setUsername", "alice")).toEqual({ ok: true, username: "alice" });
    closeAll([bob!, carol!]);
  });

  it("8 · race: 12 clients on 4 workers claim the same username at once; exactly one wins; then it is free again", async () => {
    const clients = await spreadClients(server.url, 12, 4);
    const answers = (await Promise.all(
      clients.map((c) => c.socket.timeout(30_000).emitWithAck("setUsername", "highlander")),
    )) as Array<{ ok: boolean }>;
    const winners = clients.filter((_, i) => answers[i]!.ok);
    expect(winners).toHaveLength(1);
    const losers = clients.filter((c) => !winners.includes(c));
    for (const loser of losers) expect(await loser.next("userExists")).toEqual(["highlander username is taken! Try some other username."]);
    winners[0]!.socket.close();
    const other = losers.find((c) => c.instance !== winners[0]!.instance)!;
    await other.next<[string[]]>("users", (users) => !users.includes("highlander"));
    expect(await other.socket.timeout(30_000).emitWithAck("setUsername", "highlander")).toEqual({ ok: true, username: "highlander" });
    closeAll(clients);
  });

  it("9 · `chat message` goes to every client on every worker", async () => {
    const clients = await spreadClients(server.url, 4, 4);
    clients[2]!.socket.emit("chat message", "Hello from the client!");
    for (const client of clients) expect(await client.next("chat message")).toEqual(["Hello from the client!"]);
    closeAll(clients);
  });

  it("bad input is refused with a clear reply to the sender and reaches nobody else", async () => {
    const [sender, witness] = await spreadClients(server.url, 2, 2);
    const cases: Array<[string, unknown]> = [
      ["setUsername", 42],
      ["setUsername", ""],
      ["setUsername", "   "],
      ["setUsername", "x".repeat(25)],
      ["setUsername", "<img src=x onerror=alert(1)>"],
      ["setUsername", { name: "obj" }],
      ["chat message", { text: "object" }],
      ["chat message", "y".repeat(501)],
      ["chat message", "bell\u0007"],
      ["msg", "not an object"],
    ];
    for (const [event, payload] of cases) {
      const answer = (await sender!.socket.timeout(30_000).emitWithAck(event, payload)) as { ok: boolean; error: string };
      expect(answer.ok, `${event} ${JSON.stringify(payload)}`).toBe(false);
      expect(answer.error).toMatch(/username|message/);
    }
    // without an acknowledgement the refusal comes as `inputError`
    sender!.socket.emit("setUsername", 42);
    expect(await sender!.next("inputError")).toEqual([
      { event: "setUsername", reason: "a username is 1 to 24 characters: letters, digits, spaces, _ - and ." },
    ]);
    sender!.socket.emit("chat message", null);
    expect(await sender!.next("inputError")).toEqual([{ event: "chat message", reason: "a message is text of 1 to 500 characters" }]);
    // a barrier through the witness: nothing of the above reached it
    witness!.socket.emit("chat message", "barrier");
    await witness!.next("chat message", (t) => t === "barrier");
    expect(witness!.all("chat message")).toEqual([["barrier"]]);
    expect(witness!.all("newmsg")).toEqual([]);
    expect(witness!.all("inputError")).toEqual([]);
    // the workers are all still there
    const stats = await server.stats();
    expect(stats.workers).toHaveLength(4);
    expect(stats.workerRestarts).toBe(0);
    closeAll([sender!, witness!]);
  });

  it("namespace /my-namespace: `myevent` 'Hello everyone!' to the whole namespace on each connection", async () => {
    const first = await chatClient(`${server.url}/my-namespace`);
    expect(await first.next("myevent")).toEqual(["Hello everyone!"]);
    const second = await chatClient(`${server.url}/my-namespace`, WS_ONLY);
    expect(await second.next("myevent")).toEqual(["Hello everyone!"]);
    expect(await first.next("myevent")).toEqual(["Hello everyone!"]);
    closeAll([first, second]);
  });
});

describe("auth middleware (AUTH_TOKENS)", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ workers: 2, app: "chat", env: { AUTH_TOKENS: "s3cret,other-token" } });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  it.each([
    ["no token", {}],
    ["an unknown token", { auth: { token: "wrong" } }],
    ["an unknown query token", { query: { token: "wrong" } }],
  ])("refuses %s with connect_error 'authentication error', on every namespace", async (_label, options) => {
    for (const nsp of ["", "/my-namespace"]) {
      await expect(chatClient(`${server.url}${nsp}`, options)).rejects.toThrow("authentication error");
    }
  });

  it.each([
    ["auth.token", { auth: { token: "s3cret" } }],
    ["the token query parameter", { query: { token: "other-token" } }],
  ])("accepts a known token in %s", async (_label, options) => {
    const main = await chatClient(server.url, options);
    const nsp = await chatClient(`${server.url}/my-namespace`, options);
    expect(await nsp.next("myevent")).toEqual(["Hello everyone!"]);
    closeAll([main, nsp]);
  });
});

describe("shared state when a worker dies", () => {
  it("its clients' usernames and counts are released; the others are told", async () => {
    const server = await startServer({ workers: 4, app: "chat" });
    try {
      const clients = await spreadClients(server.url, 8, 4);
      await Promise.all(clients.map((c, i) => c.socket.timeout(30_000).emitWithAck("setUsername", `user${i}`)));
      const victimInstance = clients[0]!.instance;
      const victims = clients.filter((c) => c.instance === victimInstance);
      const survivors = clients.filter((c) => c.instance !== victimInstance);
      const victimNames = clients.flatMap((c, i) => (c.instance === victimInstance ? [`user${i}`] : []));
      const n = survivors.length;
      const pid = server.logs.find((r) => r.event === "worker-start" && `worker-${r.worker}` === victimInstance)!.pid as number;
      process.kill(pid, "SIGKILL");
      // every survivor hears the new count and the new online list
      for (const survivor of survivors) {
        await survivor.next<Description>("broadcast", (d) => count(d.description) === n, 15_000);
        await survivor.next<[string[]]>("users", (users) => victimNames.every((name) => !users.includes(name)), 15_000);
      }
      const state = await online(survivors[0]!);
      expect(state.clients).toBe(n);
      expect(state.users.sort()).toEqual(clients.flatMap((c, i) => (victims.includes(c) ? [] : [`user${i}`])).sort());
      // a dead worker's names can be claimed again
      expect(await survivors[0]!.socket.timeout(30_000).emitWithAck("setUsername", victimNames[0])).toEqual({
        ok: true,
        username: victimNames[0],
      });
      closeAll(clients);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
