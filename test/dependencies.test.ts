import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers/server";

interface NpmResult {
  code: number;
  stdout: string;
}

function npm(args: string[]): Promise<NpmResult> {
  return new Promise((resolve) => {
    execFile("npm", args, { cwd: ROOT, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout });
    });
  });
}

interface Outdated {
  current?: string;
  wanted: string;
  latest: string;
  dependent: string;
}

describe("dependencies", () => {
  it("every installed runtime package is at the newest release its dependents' ranges allow (latest patch)", async () => {
    // `npm outdated` exits 1 when something is listed; the JSON says what
    const { stdout } = await npm(["outdated", "--all", "--omit=dev", "--json"]);
    const listed = JSON.parse(stdout || "{}") as Record<string, Outdated | Outdated[]>;
    const behind: string[] = [];
    for (const [name, entries] of Object.entries(listed)) {
      // @types/* are compile-time declarations (no code runs); @types/node stays on Node 20's line on purpose
      if (name.startsWith("@types/")) continue;
      for (const entry of Array.isArray(entries) ? entries : [entries]) {
        if (entry.current && entry.current !== entry.wanted) {
          behind.push(`${name} ${entry.current} < ${entry.wanted} (wanted by ${entry.dependent})`);
        }
      }
    }
    expect(behind, "run `npm update` (or add an override in package.json)").toEqual([]);
  }, 150_000);

  it("npm audit finds no high or critical advisory in the runtime dependencies", async (context) => {
    const { stdout } = await npm(["audit", "--omit=dev", "--json"]);
    const report = JSON.parse(stdout) as {
      statusCode?: number;
      message?: string;
      metadata?: { vulnerabilities: Record<"info" | "low" | "moderate" | "high" | "critical", number> };
    };
    if (!report.metadata) {
      // the registry this machine reaches refuses the audit endpoints (405): nothing to check against
      expect(report.statusCode, `npm audit failed: ${report.message ?? stdout.slice(0, 200)}`).toBe(405);
      context.skip(`the registry refuses npm audit: ${report.message ?? "no advisory service"}`);
      return;
    }
    const { high, critical } = report.metadata.vulnerabilities;
    expect({ high, critical }).toEqual({ high: 0, critical: 0 });
  }, 150_000);
});
