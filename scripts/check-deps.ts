/**
 * `npm run check:deps`: are the runtime dependencies on the newest release their ranges allow
 * (patch releases of socket.io, engine.io, socket.io-adapter, …), and does `npm audit` know of a
 * high or critical advisory in them?
 *
 * This asks the registry about today, so it is not part of `npm test` (a test's verdict must not
 * change with what upstream published since the commit). CI runs it as an informational step.
 * Exit status: 0 when both checks pass (or the audit service is unavailable), 1 otherwise.
 */
import { execFile } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..");

interface NpmResult {
  code: number;
  stdout: string;
  stderr: string;
}

function npm(args: string[]): Promise<NpmResult> {
  return new Promise((resolve) => {
    execFile("npm", args, { cwd: ROOT, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface Outdated {
  current?: string;
  wanted: string;
  latest: string;
  dependent: string;
}

/** Installed runtime packages older than the newest release their dependents' ranges allow. */
async function behindWanted(): Promise<string[] | string> {
  // `npm outdated` exits 1 when it lists something; the JSON says what
  const { stdout, stderr } = await npm(["outdated", "--all", "--omit=dev", "--json"]);
  let listed: Record<string, Outdated | Outdated[]>;
  try {
    listed = JSON.parse(stdout || "{}") as Record<string, Outdated | Outdated[]>;
  } catch {
    return `npm outdated failed: ${(stderr || stdout).trim().split("\n")[0]}`;
  }
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
  return behind;
}

interface AuditReport {
  statusCode?: number;
  message?: string;
  metadata?: { vulnerabilities: Record<"info" | "low" | "moderate" | "high" | "critical", number> };
}

/** High and critical advisories, or why the audit could not run. */
async function audit(): Promise<{ high: number; critical: number } | string> {
  const { stdout } = await npm(["audit", "--omit=dev", "--json"]);
  let report: AuditReport;
  try {
    report = JSON.parse(stdout) as AuditReport;
  } catch {
    return `npm audit gave no report: ${stdout.slice(0, 200)}`;
  }
  if (!report.metadata) return `the registry refuses npm audit (${report.statusCode ?? "?"}: ${report.message ?? "no advisory service"})`;
  const { high, critical } = report.metadata.vulnerabilities;
  return { high, critical };
}

async function main(): Promise<void> {
  let ok = true;
  const behind = await behindWanted();
  if (typeof behind === "string") {
    console.log(`outdated: ${behind}`);
    ok = false;
  } else if (behind.length === 0) {
    console.log("outdated: every runtime package is at the newest release its dependents allow");
  } else {
    ok = false;
    console.log(`outdated: ${behind.length} runtime package(s) behind (run \`npm update <name>\`, or add an override):`);
    for (const line of behind) console.log(`  ${line}`);
  }
  const advisories = await audit();
  if (typeof advisories === "string") {
    console.log(`audit: skipped, ${advisories}`);
  } else {
    console.log(`audit: ${advisories.high} high, ${advisories.critical} critical advisories in the runtime dependencies`);
    if (advisories.high + advisories.critical > 0) ok = false;
  }
  process.exitCode = ok ? 0 : 1;
}

void main();
