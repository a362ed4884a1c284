import { describe, expect, it } from "vitest";
import { openUrl, prettifier } from "./pretty";

describe("readable logs", () => {
  const pretty = prettifier({ tls: false, colorize: false });

  it("shows the time, the level, which process and the message, with the other fields on the same line", () => {
    const line = pretty(JSON.stringify({ level: 30, time: Date.UTC(2026, 0, 1), pid: 7, hostname: "h", role: "worker", worker: 2, engine: "uws", app: "chat", event: "listen", host: "0.0.0.0", port: 3000, msg: "worker listening" }));
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: \[worker 2\] worker listening \{"host":"0.0.0.0","port":3000\}\n$/);
  });

  it("keeps the worker's id and pid in a primary's record about that worker", () => {
    const line = pretty({ level: 40, time: 0, pid: 1, role: "primary", event: "worker-exit", worker: 3, code: 1, msg: "worker died" });
    expect(line).toContain("WARN (1): [primary] worker died");
    expect(line).toContain('"worker":3');
  });

  it("adds the URL to open after the primary's listen record", () => {
    const text = pretty({ level: 30, time: 0, pid: 1, role: "primary", event: "listen", host: "0.0.0.0", port: 4000, msg: "all workers listening" });
    expect(text).toContain("  ➜  open http://localhost:4000/\n");
    expect(openUrl({ event: "listen", role: "primary", host: "::1", port: 443 }, { tls: true })).toBe("https://[::1]:443/");
    expect(openUrl({ event: "listen", role: "worker", host: "::1", port: 443 }, { tls: true })).toBeUndefined();
  });

  it("does not show a long text twice when the message says it", () => {
    const error = "SyntaxError: Error transforming /p/app.ts: Unexpected token (3:5)";
    const line = pretty({ level: 50, time: 0, role: "dev", event: "check-failed", error, files: ["app.ts"], msg: `app.ts does not load:\n${error}` });
    expect(line.split(error)).toHaveLength(2);
    expect(line).toContain('{"files":["app.ts"]}');
  });

  it("passes a line that is not JSON as it is", () => {
    expect(pretty("console.log output")).toBe("console.log output\n");
  });
});
