import { describe, expect, it } from "vitest";
import { SETTINGS, type Setting } from "../config/settings";
import { flagOf, parseArgs, UsageError } from "./args";
import { helpText } from "./help";

describe("the command line", () => {
  it("maps every setting's flag onto its variable, in both spellings", () => {
    for (const setting of Object.values(SETTINGS) as Setting[]) {
      expect(parseArgs(["start", flagOf(setting), "x"]).settings).toEqual({ [setting.env]: "x" });
      expect(parseArgs(["start", `${flagOf(setting)}=y`]).settings).toEqual({ [setting.env]: "y" });
    }
    expect(flagOf(SETTINGS.maxRoomsPerSocket)).toBe("--max-rooms-per-socket");
  });

  it("reads the command, the application and the options", () => {
    expect(parseArgs(["dev", "src/app.ts", "--port", "4000", "--watch", "src", "--watch=lib"])).toMatchObject({
      command: "dev",
      app: "src/app.ts",
      settings: { PORT: "4000" },
      watch: ["src", "lib"],
    });
    expect(parseArgs(["start", "--exit-on-stdin-close"]).exitOnStdinClose).toBe(true);
    expect(parseArgs(["bench", "--quick", "--systems", "product"]).passThrough).toEqual(["--quick", "--systems", "product"]);
    expect(parseArgs(["--help"]).help).toBe(true);
    expect(parseArgs(["help"]).help).toBe(true);
    expect(parseArgs(["-v"]).version).toBe(true);
  });

  it.each([
    [["deploy"], /unknown command "deploy"/],
    [["start", "--prot", "1"], /unknown option --prot/],
    [["start", "--port"], /--port needs a value/],
    [["start", "--port", "--workers", "2"], /--port needs a value/],
    [["start", "a.ts", "b.ts"], /one application module only/],
    [["start", "--watch", "src"], /--watch is an option of dev/],
    [["dev", "a.ts", "--exit-on-stdin-close"], /--exit-on-stdin-close is an option of start/],
  ])("refuses %j", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });

  it("--help lists every setting as a flag with its variable and its default", () => {
    const help = helpText(100);
    for (const setting of Object.values(SETTINGS) as Setting[]) {
      expect(help).toContain(`${flagOf(setting)} <${setting.env}>`);
    }
    expect(help).toMatch(/--port <PORT>\n\s+TCP port every worker listens on\. Default: 3000\./);
    expect(help).toMatch(/--workers <WORKERS>\n\s+worker processes\. Default: number of cores\./);
    expect(help.split("\n").every((line) => line.length <= 100)).toBe(true);
    expect(help).not.toContain("`");
  });
});
