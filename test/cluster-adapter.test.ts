import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { byInstance, closeAll, connect, connectMany, WS_ONLY } from "./helpers/clients";
import { startServer, type RunningServer } from "./helpers/server";
import { ENGINES } from "./helpers/engines";

/**
 * Collects the `broadcast` events of every socket until each has seen the `marker` payload.
 * Deliveries to one client keep their order, so anything sent before the marker (a duplicate
 * included) has arrived by then.
 */
function collectUntilMarker(sockets: Socket[], marker: string): Promise<Map<Socket, unknown[]>> {
  const seen = new Map<Socket, unknown[]>(sockets.map((s) => [s, []]));
  return new Promise((resolve) => {
    let pending = sockets.length;
    for (const socket of sockets) {
      const onBroadcast = (payload: unknown) => {
        if (payload === marker) {
          socket.off("broadcast", onBroadcast);
          if (--pending === 0) resolve(seen);
          return;
        }
        seen.get(socket)!.push(payload);
      };
      socket.on("broadcast", onBroadcast);
    }
  });
}

describe.each(ENGINES)("cluster adapter across 4 workers, ENGINE=%s", (engine) => {
  let server: RunningServer;
  let sockets: Socket[];
  let groups: Map<string, Socket[]>;
  let instances: string[];

  beforeAll(async () => {
    server = await startServer({ workers: 4, engine });
    // default clients and WebSocket-only clients mixed: 40 sockets over 4 workers
    sockets = [...(await connectMany(server.url, 20)), ...(await connectMany(server.url, 20, WS_ONLY))];
    groups = await byInstance(sockets);
    instances = [...groups.keys()].sort();
  });
  afterAll(async () => {
    closeAll(sockets);
    expect(await server.stop()).toBe(0);
  });

  it("spreads the clients over every worker", () => {
    expect(instances).toHaveLength(4);
  });

  it("io.emit reaches every client exactly once", async () => {
    const sender = groups.get(instances[0]!)![0]!;
    const done = collectUntilMarker(sockets, "end-all");
    for (let n = 0; n < 5; n++) sender.emit("shout", { to: "all", payload: n });
    sender.emit("shout", { to: "all", payload: "end-all" });
    const seen = await done;
    for (const socket of sockets) expect(seen.get(socket)).toEqual([0, 1, 2, 3, 4]);
  });

  it("socket.broadcast reaches every client but the sender, exactly once", async () => {
    const sender = groups.get(instances[1]!)![0]!;
    const others = sockets.filter((s) => s !== sender);
    const done = collectUntilMarker(others, "end-others");
    let senderGot = 0;
    sender.on("broadcast", () => senderGot++);
    sender.emit("shout", { to: "others", payload: "hello" });
    sender.emit("shout", { to: "others", payload: "end-others" });
    const seen = await done;
    for (const socket of others) expect(seen.get(socket)).toEqual(["hello"]);
    // the sender's own round trip is a barrier for anything sent to it
    await sender.timeout(30_000).emitWithAck("echo", "barrier");
    expect(senderGot).toBe(0);
    sender.off("broadcast");
  });

  it("room broadcasts reach exactly the room's members, on every worker", async () => {
    // one member per worker, plus a non-member per worker
    const members = instances.map((i) => groups.get(i)![0]!);
    const outsiders = instances.map((i) => groups.get(i)![1]!);
    await Promise.all(members.map((s) => s.timeout(30_000).emitWithAck("join", "room-a")));
    const outsiderGot: unknown[] = [];
    for (const s of outsiders) s.on("broadcast", (p: unknown) => outsiderGot.push(p));
    const done = collectUntilMarker(members, "end-room");
    outsiders[2]!.emit("shout", { to: { room: "room-a" }, payload: "for-room" });
    outsiders[2]!.emit("shout", { to: { room: "room-a" }, payload: "end-room" });
    const seen = await done;
    for (const s of members) expect(seen.get(s)).toEqual(["for-room"]);
    await Promise.all(outsiders.map((s) => s.timeout(30_000).emitWithAck("echo", "barrier")));
    expect(outsiderGot).toEqual([]);
    for (const s of outsiders) s.off("broadcast");
  });

  it("Buffers survive a broadcast across workers", async () => {
    const sender = groups.get(instances[3]!)![0]!;
    const receivers = instances.map((i) => groups.get(i)![1]!);
    const got = Promise.all(
      receivers.map((s) => new Promise<Uint8Array>((resolve) => s.once("broadcast", (p: Uint8Array) => resolve(p)))),
    );
    sender.emit("shout", { to: "all", payload: Buffer.from([1, 2, 3, 255]) });
    for (const payload of await got) expect([...new Uint8Array(payload)]).toEqual([1, 2, 3, 255]);
  });

  it("fetchSockets sees the sockets of every worker", async () => {
    const asker = groups.get(instances[0]!)![0]!;
    const all = (await asker.timeout(30_000).emitWithAck("list", null)) as { ids: string[] };
    expect(new Set(all.ids)).toEqual(new Set(sockets.map((s) => s.id)));
    const room = (await asker.timeout(30_000).emitWithAck("list", "room-a")) as { ids: string[] };
    expect(room.ids).toHaveLength(4);
  });

  it("serverSideEmit reaches every other worker and collects their answers", async () => {
    const asker = groups.get(instances[2]!)![0]!;
    const result = (await asker.timeout(30_000).emitWithAck("poll")) as { instances: string[] };
    const expected = instances.filter((i) => i !== instances[2]);
    expect([...result.instances].sort()).toEqual(expected);
  });

  it("socketsJoin, socketsLeave and disconnectSockets act on every worker", async () => {
    const asker = groups.get(instances[0]!)![0]!;
    // everyone in room-a joins room-b, cluster-wide
    await asker.timeout(30_000).emitWithAck("manage", { op: "join", room: "room-a", target: "room-b" });
    let inB = (await asker.timeout(30_000).emitWithAck("list", "room-b")) as { ids: string[] };
    expect(inB.ids).toHaveLength(4);
    await asker.timeout(30_000).emitWithAck("manage", { op: "leave", room: "room-b", target: "room-b" });
    inB = (await asker.timeout(30_000).emitWithAck("list", "room-b")) as { ids: string[] };
    expect(inB.ids).toHaveLength(0);
    // disconnect the room-a members (one per worker)
    const members = sockets.filter((s) => s.connected);
    const memberIds = ((await asker.timeout(30_000).emitWithAck("list", "room-a")) as { ids: string[] }).ids;
    const targets = members.filter((s) => memberIds.includes(s.id!));
    const reasons = Promise.all(targets.map((s) => new Promise<string>((r) => s.once("disconnect", r))));
    await asker.timeout(30_000).emitWithAck("manage", { op: "disconnect", room: "room-a" });
    expect(await reasons).toEqual(targets.map(() => "io server disconnect"));
  });

  it("a new client after all that still connects and is served", async () => {
    const socket = await connect(server.url);
    expect(await socket.timeout(30_000).emitWithAck("echo", 42)).toBe(42);
    socket.close();
  });
});
