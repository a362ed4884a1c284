import createDebug from "debug";
import type { ErrorCallback } from "engine.io";
import { Counter, type Registry } from "prom-client";
import type { Config } from "../../config/env";
import type { Logger } from "../../log/logger";
import type { WorkerChannel } from "../ipc/worker";
import type { Verdict } from "./address-limits";
import { canonicalAddress, clientAddress, TrustedProxies } from "./client-address";
import { OriginPolicy } from "./origin-policy";
import { addressLimitsEnabled } from "./primary";
import { limitRefusal, ORIGIN_REFUSAL, refusalCounts, type Refusal, type RefusalReason } from "./refusal";

const debug = createDebug("runtime:admission");

/** Longest a handshake waits for the primary's verdict before it is let in (ms). */
const VERDICT_TIMEOUT_MS = 2000;
const OK: Verdict = { ok: true };

/** Where a handshake request carries its client address and its lease to the session it creates. */
const MARK = Symbol("admission");

interface Mark {
  address: string;
  /** Set while a counted slot waits for its session; `true` once bound to it, or given back. */
  lease?: { settled: boolean };
}

/** The parts of an engine.io session admission works with (engine.io's `Socket`). */
export interface AdmittedSession {
  readonly request?: object | null;
  remoteAddress: string;
  once(event: "close", listener: () => void): unknown;
}

/** A handshake as an engine's `verify()` sees it (no `sid`: it would create a session). */
export interface HandshakeRequest {
  /** The TCP peer's address. */
  peer: string;
  /** `X-Forwarded-For`, if any. */
  forwardedFor: string | undefined;
  /** The request object engine.io passes on to the session it creates (carries the address). */
  carrier: object;
}

/** How an engine answers for admission: a refusal, or going on with the handshake. */
export interface HandshakeAnswers {
  /** Answers the request with the refusal (a 403/429 response, or the upgrade refused). */
  refuse(refusal: Refusal): void;
  /** Goes on with the handshake, if the client is still there (uWS: corked). */
  resume(proceed: () => void): void;
  /** The engine keeps the client's address on its request itself (uWS). */
  setAddress?(address: string): void;
}

/**
 * Admission control in a worker, for both engines: the origin allowlist, the client address
 * behind trusted proxies, and the per-address session cap and rate, counted by the primary
 * (`./primary.ts`). A slot counted for a handshake is leased to the session the handshake creates
 * and given back when that session closes (or moves to another worker, which then holds it:
 * {@link adopted}); a handshake that creates no session gives its slot back at once. The
 * handshakes of one turn of the event loop are asked together, in one IPC round trip; closes and
 * moves are batched likewise and always sent before the next ask. Fails open: without an answer
 * within 2 s, the sessions are let in.
 */
export class Admission {
  private readonly origins: OriginPolicy;
  private readonly trusted: TrustedProxies;
  /** Whether new sessions are counted (one round trip to the primary per turn of handshakes). */
  readonly limited: boolean;
  private asking: Array<{ address: string; resolve: (verdict: Verdict) => void }> = [];
  private changes: Array<[string, 1 | -1]> = [];
  private flushScheduled = false;

  /** Peers that sent `X-Forwarded-For` without being trusted, already reported (a few at most). */
  private readonly untrustedProxies = new Set<string>();

  constructor(
    config: Pick<Config, "corsOrigin" | "trustProxy" | "maxConnectionsPerIp" | "connectionRate">,
    private readonly channel: WorkerChannel,
    private readonly log: Logger,
  ) {
    this.origins = new OriginPolicy(config.corsOrigin);
    this.trusted = new TrustedProxies(config.trustProxy);
    this.limited = addressLimitsEnabled(config);
  }

  /** The refusal of a request with this `Origin` header, when the allowlist does not have it. */
  checkOrigin(origin: string | undefined | null): Refusal | undefined {
    if (this.origins.allows(origin)) return undefined;
    debug("refused origin %s", origin);
    refusalCounts.origin++;
    return ORIGIN_REFUSAL;
  }

  /**
   * Admission of a handshake in an engine's `verify()`: the client address, engine.io's own checks
   * (`stockVerify`), then (when limited) a slot from the primary; the handshake goes on (`fn()`,
   * through `answers.resume`) or is answered with the refusal.
   */
  handshake(request: HandshakeRequest, fn: ErrorCallback, stockVerify: (callback: ErrorCallback) => void, answers: HandshakeAnswers): void {
    const address = clientAddress(request.peer, request.forwardedFor, this.trusted);
    if (request.forwardedFor) {
      const peer = canonicalAddress(request.peer) ?? request.peer;
      if (!this.trusted.has(peer)) this.untrustedProxy(peer);
    }
    answers.setAddress?.(address);
    if (!this.limited) {
      this.mark(request.carrier, { address });
      return stockVerify(fn);
    }
    stockVerify((code, context) => {
      if (code !== undefined) return fn(code, context);
      this.admit(address).then(
        (refusal) => {
          if (refusal) return answers.refuse(refusal);
          this.lease(request.carrier, address);
          answers.resume(() => fn());
        },
        (err: unknown) => debug("handshake from %s failed: %s", address, (err as Error).message),
      );
    });
  }

  /**
   * A peer that sends `X-Forwarded-For` is a proxy; one not in `TRUST_PROXY` makes every client
   * behind it count as itself (for the per-address limits, and as `socket.handshake.address`).
   * Said once per peer, with the fix, in case it is the site's own reverse proxy.
   */
  private untrustedProxy(peer: string): void {
    if (this.untrustedProxies.has(peer) || this.untrustedProxies.size >= 16) return;
    this.untrustedProxies.add(peer);
    this.log.warn(
      { event: "untrusted-proxy", peer },
      `requests from ${peer} carry X-Forwarded-For, but ${peer} is not in TRUST_PROXY: the clients behind it all count as ${peer} ` +
        `(per-address limits, socket.handshake.address). If it is your reverse proxy, set TRUST_PROXY=${peer}` +
        (peer.startsWith("127.") || peer === "::1" ? " (or TRUST_PROXY=loopback)" : ""),
    );
  }

  /** A session opened here from a handshake: it takes its address and its slot. */
  opened(session: AdmittedSession): void {
    const mark = (session.request as { [MARK]?: Mark } | null | undefined)?.[MARK];
    if (!mark) return;
    session.remoteAddress = mark.address;
    const lease = mark.lease;
    if (!lease || lease.settled) return;
    lease.settled = true;
    session.once("close", () => this.change(mark.address, -1));
  }

  /** A session that moved here from another worker (which gave its slot back): this worker holds it now. */
  adopted(session: AdmittedSession): void {
    if (!this.limited) return;
    const address = session.remoteAddress;
    this.change(address, 1);
    session.once("close", () => this.change(address, -1));
  }

  /** Resolves `undefined` when a session from `address` may open (counted), or the refusal. */
  private async admit(address: string): Promise<Refusal | undefined> {
    const verdict = await new Promise<Verdict>((resolve) => {
      this.asking.push({ address, resolve });
      this.schedule();
    });
    if (verdict.ok) return undefined;
    debug("refused %s: %s", address, verdict.reason);
    refusalCounts[verdict.reason]++;
    return limitRefusal(verdict.reason, verdict.retryAfterS);
  }

  private mark(request: object, mark: Mark): void {
    (request as { [MARK]?: Mark })[MARK] = mark;
  }

  /**
   * Hands the slot counted for `address` to the session `request` creates. A handshake creates its
   * session within the same turn of the event loop as `fn()`, so a slot still unclaimed at the next
   * turn was not used and is given back.
   */
  private lease(request: object, address: string): void {
    const lease = { settled: false };
    this.mark(request, { address, lease });
    setImmediate(() => {
      if (lease.settled) return;
      lease.settled = true;
      debug("handshake from %s opened no session: slot given back", address);
      this.change(address, -1);
    });
  }

  /** A session of `address` closed here (`-1`) or moved here (`+1`). */
  private change(address: string, delta: 1 | -1): void {
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
      this.channel.notify("admission:changes", { changes: this.changes });
      this.changes = [];
    }
    if (this.asking.length === 0) return;
    const asking = this.asking;
    this.asking = [];
    this.channel
      .request(
        "admission:admit",
        { addresses: asking.map((entry) => entry.address) },
        {
          timeoutMs: VERDICT_TIMEOUT_MS,
          fallback: () => {
            debug("no verdict for %d handshakes: admitted", asking.length);
            return [];
          },
        },
      )
      .then((verdicts) => asking.forEach((entry, i) => entry.resolve(verdicts[i] ?? OK)));
  }
}

/**
 * `runtime_admission_refused_total{reason}`: requests refused at the door, by reason (`origin`,
 * `connections_per_ip`, `connection_rate`). Read at scrape time from {@link refusalCounts}.
 */
export function registerAdmissionMetrics(registry: Registry): void {
  new Counter({
    name: "runtime_admission_refused_total",
    help: "Requests refused by admission control: origin not allowed, too many sessions from one address, new-session rate exceeded",
    labelNames: ["reason"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, count] of Object.entries(refusalCounts) as Array<[RefusalReason, number]>) this.inc({ reason }, count);
    },
  });
}
