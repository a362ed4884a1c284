/**
 * The live progress line: scenario, system, elapsed time and the current rate. On a terminal
 * it rewrites one line on stderr; otherwise it prints a line every few seconds.
 */
export interface ProgressState {
  scenario: string;
  system: string;
  phase: string;
  /** What `count` counts ("conn", "acks", "msgs", "req"). */
  unit: string;
  count: number;
}

export class Progress {
  private state: ProgressState = { scenario: "-", system: "-", phase: "", unit: "", count: 0 };
  private phaseStart = Date.now();
  private readonly runStart = Date.now();
  private lastCount = 0;
  private lastAt = Date.now();
  private rate = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastPrinted = 0;
  private readonly tty: boolean;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly enabled = true,
  ) {
    this.tty = Boolean(out.isTTY);
  }

  start(): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => this.render(), this.tty ? 250 : 1000);
    this.timer.unref();
  }

  /** A new phase (scenario / system / step): resets the elapsed time and the counter. */
  phase(scenario: string, system: string, phase: string, unit = ""): void {
    this.state = { scenario, system, phase, unit, count: 0 };
    this.phaseStart = Date.now();
    this.lastCount = 0;
    this.lastAt = Date.now();
    this.rate = 0;
    this.render(true);
  }

  /** Sets the running total of the current phase (the rate is derived from it). */
  update(count: number): void {
    this.state.count = count;
  }

  /** A line that stays (a finished step, a warning). */
  log(line: string): void {
    if (this.enabled && this.tty) this.out.write(`\r\x1b[K${line}\n`);
    else this.out.write(`${line}\n`);
    this.render(true);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.enabled && this.tty) this.out.write("\r\x1b[K");
  }

  private render(force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    const dt = (now - this.lastAt) / 1000;
    if (dt >= 0.5) {
      this.rate = (this.state.count - this.lastCount) / dt;
      this.lastCount = this.state.count;
      this.lastAt = now;
    }
    const s = this.state;
    const line =
      `[${fmtTime((now - this.runStart) / 1000)}] ${s.scenario.padEnd(7)} ${s.system.padEnd(8)} ${s.phase.padEnd(22)} ` +
      `${((now - this.phaseStart) / 1000).toFixed(1).padStart(6)} s` +
      (s.unit ? `  ${fmtInt(s.count)} ${s.unit}  ${fmtInt(this.rate)} ${s.unit}/s` : "");
    if (this.tty) {
      this.out.write(`\r\x1b[K${line.slice(0, (this.out.columns || 120) - 1)}`);
    } else if (force || now - this.lastPrinted >= 5000) {
      this.lastPrinted = now;
      this.out.write(`${line}\n`);
    }
  }
}

export const fmtInt = (n: number): string => Math.round(n).toLocaleString("en-US");
const fmtTime = (s: number): string => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
