import { existsSync } from "node:fs";
import path from "node:path";

/*
 * The uWebSockets.js engine's primary half: every worker listens on the port itself (SO_REUSEPORT)
 * and routes sessions to the others (`./sticky-router.ts`), so the primary only checks, before it
 * forks, that the engine can load here.
 */

/**
 * Why uWebSockets.js cannot run here, or `undefined` when its native binary loads.
 * The npm build in use silently falls back to a slow JavaScript imitation when its binary does
 * not load; the runtime prefers Node's http server then, so the binary is checked directly.
 */
export function uwsUnavailableReason(): string | undefined {
  try {
    const dir = path.dirname(require.resolve("uWebSockets.js/package.json"));
    const name = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
    const binary = [path.join(dir, "binaries", name), path.join(dir, name)].find((file) => existsSync(file));
    if (!binary) return `no uWebSockets.js binary for ${process.platform}-${process.arch}, Node ABI ${process.versions.modules}`;
    require(binary);
    return undefined;
  } catch (err) {
    return (err as Error).message.split("\n")[0];
  }
}
