import createDebug from "debug";
import type { Verdict } from "./address-limits";
import type { AdmissionWorkerToPrimary, AdmitChanges, AdmitReply } from "./messages";

const debug = createDebug("runtime:admission:client");

/** Longest a handshake waits for the primary's verdict before it is let in (ms). */
const TIMEOUT_MS = 2000;
const OK: Verdict = { ok: true };

type Resolve = (verdict: Verdict) => void;

/**
 * A worker's line to the primary's per-address counts. The handshakes of one turn of the event
 * loop are asked together, in one IPC round trip ({@link admit}); closes and moves are batched
 * likewise ({@link change}) and always sent before the next `rt:admit`, so the primary never
 * counts a session open after a close that preceded it. Fails open: without a primary, or
 * without an answer within 2 s, the sessions are let in.
 */
export class AdmissionClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolves: Resolve[]; timer: NodeJS.Timeout }>();
  private asking: Array<{ address: string; resolve: Resolve }> = [];
  private changes: AdmitChanges["changes"] = [];
  private flushScheduled = false;

  constructor() {
    process.on("message", (message: unknown) => {
      if ((message as AdmitReply | undefined)?.type !== "rt:admit-reply") return;
      const reply = message as AdmitReply;
      const pending = this.waiting.get(reply.id);
      if (!pending) return;
      this.waiting.delete(reply.id);
      clearTimeout(pending.timer);
      pending.resolves.forEach((resolve, i) => resolve(reply.verdicts[i] ?? OK));
    });
  }

  /** Asks the primary whether a new session from `address` may open; if so it is counted. */
  admit(address: string): Promise<Verdict> {
    if (!process.send || !process.connected) return Promise.resolve(OK);
    return new Promise((resolve) => {
      this.asking.push({ address, resolve });
      this.schedule();
    });
  }

  /** A session of `address` closed here (`-1`) or moved here (`+1`). */
  change(address: string, delta: 1 | -1): void {
    this.changes.push([address, delta]);
    this.schedule();
  }

  private schedule(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.changes.length > 0) {
      const changes = this.changes;
      this.changes = [];
      this.send({ type: "rt:admit-changes", changes });
    }
    if (this.asking.length === 0) return;
    const asking = this.asking;
    this.asking = [];
    const id = this.nextId++;
    const resolves = asking.map((entry) => entry.resolve);
    const timer = setTimeout(() => {
      this.waiting.delete(id);
      debug("no verdict for %d handshakes within %d ms: admitted", asking.length, TIMEOUT_MS);
      for (const resolve of resolves) resolve(OK);
    }, TIMEOUT_MS);
    this.waiting.set(id, { resolves, timer });
    this.send({ type: "rt:admit", id, addresses: asking.map((entry) => entry.address) });
  }

  private send(message: AdmissionWorkerToPrimary): void {
    if (!process.send || !process.connected) return;
    process.send(message, undefined, {}, (err: Error | null) => {
      if (err) debug("cannot reach the primary: %s", err.message);
    });
  }
}
