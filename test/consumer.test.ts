// The package as a user gets it: `npm pack`, the tarball installed in a new project (its pinned
// dependency tree, from npm's cache when it is there), a TypeScript application written there and
// type-checked against the published types, run with the package's command: `start` across 2
// workers, then `dev` through an edit, a module that does not load, and a fix.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { Socket } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isAlive } from "./helpers/process";
import { nodeEnv, runCommand, stopCommands, type RunningCommand } from "./helpers/command";
import { closeAll, connect, type ClientOptions } from "./helpers/clients";
import { freePort, ROOT, type LogRecord } from "./helpers/server";

const run = promisify(execFile);
const NPM_FLAGS = ["--no-audit", "--no-fund", "--loglevel=error"];

interface Manifest {
  name: string;
  version: string;
  license?: string;
  dependencies?: Record<string, string>;
  bin?: Record<string, string>;
  engines?: Record<string, string>;
}

/**
 * The project's package-lock.json, written before `npm ci`: it names the tarball (by integrity)
 * and marks that it carries a shrinkwrap, so npm installs the tarball's npm-shrinkwrap.json tree
 * as it is: the versions of the commit under test, whatever the registry's latest are.
 */
function lockFor(project: string, tarball: string, manifest: Manifest): object {
  const integrity = `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`;
  const spec = `file:${path.relative(project, tarball)}`;
  return {
    name: "consumer",
    version: "1.0.0",
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": { name: "consumer", version: "1.0.0", dependencies: { [manifest.name]: spec } },
      [`node_modules/${manifest.name}`]: {
        version: manifest.version,
        resolved: spec,
        integrity,
        hasShrinkwrap: true,
        license: manifest.license,
        dependencies: manifest.dependencies,
        bin: manifest.bin,
        engines: manifest.engines,
      },
    },
  };
}

/** The application, version `version` (the edit `dev` must pick up changes it). */
function appSource(version: string): string {
  return `import { defineApp, defineFeature } from "uws-socketio-cluster";
import type { ClientToServer, ServerToClient } from "./events.js";
import { stamp } from "./stamp.js";

const VERSION: string = "${version}";

const greeter = defineFeature<ClientToServer, ServerToClient>(({ io, instance, log }) => {
  io.on("connection", (socket) => {
    socket.on("hello", (name, ack) => ack({ greeting: stamp(VERSION, \`hello \${name}\`), instance }));
    socket.on("shout", (text) => io.emit("shouted", stamp(VERSION, text)));
  });
  log.info({ version: VERSION }, "greeter ready");
});

export default defineApp({ name: "consumer", features: [greeter] });
`;
}

const EVENTS = `export interface ClientToServer {
  hello: (name: string, ack: (answer: { greeting: string; instance: string }) => void) => void;
  shout: (text: string) => void;
}
export interface ServerToClient {
  shouted: (text: string) => void;
}
`;

/** Checked by tsc only: the published types refuse what the events do not allow. */
const TYPING = `import { defineFeature, type Config, type FeatureContext } from "uws-socketio-cluster";
import type { ClientToServer, ServerToClient } from "./events.js";

export const typed = defineFeature<ClientToServer, ServerToClient>(({ io, config, state }) => {
  const port: number = config.port;
  void state.claim("space", "key", "holder").then((held: boolean) => held && port);
  io.on("connection", (socket) => {
    socket.on("hello", (name, ack) => ack({ greeting: name.toUpperCase(), instance: "x" }));
    // @ts-expect-error: hello's name is a string
    socket.on("hello", (name: number) => name);
    // @ts-expect-error: no such server-to-client event
    socket.emit("nope");
  });
});
export const untyped = (context: FeatureContext): Config => context.config;
`;

const STAMP = `export function stamp(version: string, text: string): string {
  return \`\${version}: \${text}\`;
}
`;

interface Greeting {
  greeting: string;
  instance: string;
}

const hello = (socket: Socket, name: string) => socket.timeout(10_000).emitWithAck("hello", name) as Promise<Greeting>;

/** Clients (more as needed) until two are served by different workers. */
async function onTwoWorkers(url: string, options: ClientOptions = {}): Promise<{ sockets: Socket[]; pair: [Socket, Socket] }> {
  const sockets: Socket[] = [];
  const byInstance = new Map<string, Socket>();
  for (let i = 0; i < 24 && byInstance.size < 2; i++) {
    const socket = await connect(url, options);
    sockets.push(socket);
    const { instance } = await hello(socket, `client ${i}`);
    if (!byInstance.has(instance)) byInstance.set(instance, socket);
  }
  expect(byInstance.size, "clients on 2 workers").toBe(2);
  return { sockets, pair: [...byInstance.values()] as [Socket, Socket] };
}

/** The next `shouted` text a socket receives. */
const nextShout = (socket: Socket) => new Promise<string>((resolve) => socket.once("shouted", (text: string) => resolve(text)));

/** Counts each socket's connections (the first one included). */
function countConnections(sockets: Socket[]): Map<Socket, number> {
  const counts = new Map<Socket, number>(sockets.map((socket) => [socket, 1]));
  for (const socket of sockets) socket.on("connect", () => counts.set(socket, counts.get(socket)! + 1));
  return counts;
}

/** Resolves once `socket` connected again since its count was `before` (its worker was replaced), asserting it recovered its session. */
async function reconnected(socket: Socket, counts: Map<Socket, number>, before: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(counts.get(socket)! > before && socket.connected)) {
    if (Date.now() > deadline) throw new Error(`socket ${socket.id} did not reconnect`);
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 500);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
  }
  expect(socket.recovered, `socket ${socket.id} recovered its session`).toBe(true);
}

describe("the package, installed from its tarball into a new TypeScript project", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "consumer-"));
  const project = path.join(tmp, "project");
  const bin = path.join(project, "node_modules", ".bin", "uws-socketio-cluster");
  const sockets: Socket[] = [];

  beforeAll(async () => {
    // npm pack runs prepack: the build and npm-shrinkwrap.json (removed again by postpack)
    await run("npm", ["pack", "--pack-destination", tmp, ...NPM_FLAGS], { cwd: ROOT, env: nodeEnv(), timeout: 150_000 });
    const tarball = path.join(tmp, readdirSync(tmp).find((file) => file.endsWith(".tgz"))!);
    const { stdout: listing } = await run("tar", ["tzf", tarball]);
    expect(listing).toMatch(/^package\/npm-shrinkwrap\.json$/m);
    expect(listing).toMatch(/^package\/dist\/cli\/main\.js$/m);
    expect(listing).not.toMatch(/\.test\.|^package\/test\//m);
    const manifest = JSON.parse((await run("tar", ["xzf", tarball, "-O", "package/package.json"])).stdout) as Manifest;

    mkdirSync(project);
    writeFileSync(
      path.join(project, "package.json"),
      JSON.stringify({ name: "consumer", version: "1.0.0", private: true, dependencies: { [manifest.name]: `file:${path.relative(project, tarball)}` } }, null, 2),
    );
    writeFileSync(path.join(project, "package-lock.json"), JSON.stringify(lockFor(project, tarball, manifest), null, 2));
    try {
      await run("npm", ["ci", "--offline", ...NPM_FLAGS], { cwd: project, env: nodeEnv(), timeout: 150_000 });
    } catch (err) {
      // a package missing from npm's cache (a new machine): the same pinned versions, from the registry
      if (!/ENOTCACHED/.test(String((err as { stderr?: string }).stderr))) throw err;
      await run("npm", ["ci", "--prefer-offline", ...NPM_FLAGS], { cwd: project, env: nodeEnv(), timeout: 150_000 });
    }

    writeFileSync(path.join(project, "events.ts"), EVENTS);
    writeFileSync(path.join(project, "stamp.ts"), STAMP);
    writeFileSync(path.join(project, "typing.ts"), TYPING);
    writeFileSync(path.join(project, "app.ts"), appSource("v1"));
    writeFileSync(
      path.join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: "nodenext",
          moduleResolution: "nodenext",
          target: "es2022",
          noEmit: true,
          skipLibCheck: true,
          types: ["node"],
          typeRoots: [path.join(ROOT, "node_modules", "@types")],
        },
        include: ["*.ts"],
      }),
    );
  }, 300_000);

  afterAll(async () => {
    closeAll(sockets);
    await stopCommands();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("installs the tarball's pinned dependency tree", () => {
    const shrinkwrap = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { version: string; dev?: boolean }> };
    const installed = (name: string) => JSON.parse(readFileSync(path.join(project, "node_modules", "uws-socketio-cluster", "node_modules", name, "package.json"), "utf8")) as { version: string };
    for (const name of ["socket.io", "engine.io", "ws", "sucrase", "pino-pretty"]) {
      expect(installed(name).version, name).toBe(shrinkwrap.packages[`node_modules/${name}`]!.version);
    }
    // development dependencies stay out
    for (const name of ["vitest", "typescript", "tsx"]) {
      expect(() => installed(name), name).toThrow();
    }
  });

  it("type-checks an application against the published types", async () => {
    const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const result = await run(process.execPath, [tsc, "-p", project], { cwd: project }).catch((err: { stdout: string; stderr: string }) => err);
    expect(`${result.stdout}${result.stderr}`.trim()).toBe("");
  });

  it("`start app.ts`: a TypeScript app across 2 workers, without a build step", async () => {
    const port = await freePort();
    const start = runCommand(bin, ["start", "app.ts", "--port", String(port), "--workers", "2", "--host", "127.0.0.1"], { cwd: project });
    await start.waitFor((r) => r.role === "primary" && r.event === "listen", 60_000);
    // JSON lines on a pipe, as today; the application's own records carry its name
    await start.waitFor((r) => r.role === "worker" && r.event === "listen" && r.worker === 1 && r.app === "consumer");
    await start.waitFor((r) => r.role === "worker" && r.event === "listen" && r.worker === 2 && r.app === "consumer");
    const url = `http://127.0.0.1:${port}`;
    // the project has no public/: its URL opens the event console
    expect(await (await fetch(`${url}/`)).text()).toContain("<h1>Event console</h1>");
    const { sockets: opened, pair } = await onTwoWorkers(url);
    sockets.push(...opened);
    expect((await hello(pair[0], "ada")).greeting).toBe("v1: hello ada");
    const heard = nextShout(pair[1]);
    pair[0].emit("shout", "across workers");
    expect(await heard).toBe("v1: across workers");
    closeAll(opened);
    expect(await start.stop()).toBe(0);
  });

  it("`dev app.ts`: an edit rolls the workers; clients stay connected, recover their session and see the new code", async () => {
    const port = await freePort();
    const dev = runCommand(bin, ["dev", "app.ts", "--port", String(port), "--host", "127.0.0.1"], { cwd: project });
    await dev.waitFor((r) => r.role === "primary" && r.event === "listen", 60_000);
    const workers = dev.records.filter((r) => r.role === "primary" && r.event === "worker-start").length;
    expect(workers).toBe(2); // dev's default
    const url = `http://127.0.0.1:${port}`;
    const { sockets: opened, pair } = await onTwoWorkers(url, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500 });
    sockets.push(...opened);
    // Socket.IO restores a session from the offset of the last broadcast its client received:
    // every client gets one before the edit
    const shouts = opened.map(nextShout);
    pair[0].emit("shout", "before the edit");
    expect(await Promise.all(shouts)).toEqual(opened.map(() => "v1: before the edit"));
    const ids = opened.map((socket) => socket.id);
    const counts = countConnections(opened);
    const disconnections: string[] = [];
    for (const socket of opened) socket.on("disconnect", (reason) => disconnections.push(reason));

    // 1. an edit
    let mark = dev.records.length;
    let snapshot = new Map(counts);
    writeFileSync(path.join(project, "app.ts"), appSource("v2"));
    const reloaded = await dev.waitFor((r) => r.role === "dev" && r.event === "reloaded", 90_000, mark);
    expect(reloaded.files).toEqual(["app.ts"]);
    const replaced = dev.records.slice(mark).filter((r: LogRecord) => r.event === "worker-replaced");
    expect(replaced).toHaveLength(2);
    // both workers were replaced: every client was moved once at least, and kept its session
    for (const socket of opened) await reconnected(socket, counts, snapshot.get(socket)!);
    expect(opened.map((socket) => socket.id)).toEqual(ids);
    expect(disconnections).not.toContain("io server disconnect");
    expect((await hello(pair[0], "ada")).greeting).toBe("v2: hello ada");
    const heard = nextShout(pair[1]);
    pair[0].emit("shout", "after the edit");
    expect(await heard).toBe("v2: after the edit");

    // 2. a module that does not load: said, and the workers keep serving the last good version
    mark = dev.records.length;
    const before = disconnections.length;
    writeFileSync(path.join(project, "app.ts"), `${appSource("v3")}\nexport const broken = ;\n`);
    const failed = await dev.waitFor((r) => r.role === "dev" && r.event === "check-failed", 60_000, mark);
    expect(String(failed.error)).toMatch(/app\.ts/);
    expect(dev.records.slice(mark).some((r) => r.event === "rolling-restart")).toBe(false);
    expect((await hello(pair[1], "bob")).greeting).toBe("v2: hello bob");
    expect(disconnections.length).toBe(before);

    // 3. fixed: rolled again
    mark = dev.records.length;
    snapshot = new Map(counts);
    writeFileSync(path.join(project, "app.ts"), appSource("v3"));
    await dev.waitFor((r) => r.role === "dev" && r.event === "reloaded", 90_000, mark);
    for (const socket of opened) await reconnected(socket, counts, snapshot.get(socket)!);
    expect((await hello(pair[1], "bob")).greeting).toBe("v3: hello bob");

    // Ctrl-C (SIGINT): dev stops the runtime, which drains; nothing is left running
    const primary = dev.records.find((r) => r.role === "primary" && r.event === "start")!.pid as number;
    closeAll(opened);
    dev.child.kill("SIGINT");
    expect(await dev.exited).toBe(0);
    expect(isAlive(primary)).toBe(false);
  });

  it.each([
    ["esm.mjs", `import { defineApp } from "uws-socketio-cluster";\nexport default defineApp({ name: "esm", features: [() => {}] });\n`, /"esm", 1 feature/],
    ["cjs.cjs", `const { defineApp } = require("uws-socketio-cluster");\nmodule.exports = defineApp({ name: "cjs", features: [] });\n`, /"cjs", 0 feature/],
    ["compiled.cjs", `"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\nexports.default = { name: "compiled", features: [() => {}, () => {}] };\n`, /"compiled", 2 feature/],
    ["named.js", `exports.application = { name: "named", features: [() => {}] };\n`, /"named", 1 feature/],
    ["types.cts", `import type { Application } from "uws-socketio-cluster";\nconst app: Application = { name: "cts", features: [] };\nexport = app;\n`, /"cts", 0 feature/],
    ["nothing.mjs", `export const x = 1;\n`, /exports no application/],
    ["broken.mts", `export default {\n`, /SyntaxError: .*broken\.mts/],
  ])("`check %s`: JavaScript and TypeScript modules, and what is wrong with one", async (file, source, said) => {
    writeFileSync(path.join(project, file), source);
    const result = await run(bin, ["check", file], { cwd: project, env: nodeEnv() }).catch((err: { code: number; stdout: string; stderr: string }) => err);
    const output = `${result.stdout}${result.stderr}`;
    expect(output).toMatch(said);
    expect((result as { code?: number }).code ?? 0).toBe(/exports no|SyntaxError/.test(said.source) ? 1 : 0);
  });

  it("`bench` says which tools the harness needs when the project lacks them", async () => {
    const result = await run(bin, ["bench", "--quick"], { cwd: project, env: nodeEnv() }).catch((err: { code: number; stderr: string }) => err);
    expect((result as { code: number }).code).toBe(1);
    expect((result as { stderr: string }).stderr).toMatch(/npm install --save-dev tsx@\S+ esbuild@\S+ autocannon@\S+ ws@\S+/);
  });

  it("`uws-socketio-cluster/pm2` gives pm2 the command and the application", async () => {
    const script = `console.log(JSON.stringify(require("uws-socketio-cluster/pm2").ecosystem({ name: "chat", app: "app.ts", cwd: process.cwd() })))`;
    const { stdout } = await run(process.execPath, ["-e", script], { cwd: project });
    const [app] = (JSON.parse(stdout) as { apps: Array<Record<string, unknown>> }).apps;
    expect(app).toMatchObject({
      name: "chat",
      script: path.join(project, "node_modules", "uws-socketio-cluster", "dist", "cli", "main.js"),
      args: ["start", path.join(project, "app.ts")],
      exec_mode: "fork",
      wait_ready: true,
      treekill: false,
    });
  });
});
