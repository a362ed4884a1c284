import createDebug from "debug";
import type { Config } from "../../config/env";
import { AdmissionClient } from "./admission-client";
import { clientAddress, TrustedProxies } from "./client-address";
import { OriginPolicy } from "./origin-policy";
import { addressLimitsEnabled } from "./primary-ledger";
import { limitRefusal, ORIGIN_REFUSAL, refusalCounts, type Refusal } from "./refusal";

const debug = createDebug("runtime:admission");

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

/**
 * Admission control in a worker, for both engines (see `uws-hook.ts`, `node-hook.ts`): the
 * origin allowlist, the client address behind trusted proxies, and the per-address session cap
 * and rate, counted by the primary (`primary-ledger.ts`). A slot counted for a handshake is
 * leased to the session the handshake creates and given back when that session closes (or
 * moves to another worker, which then holds it: {@link adopted}); a handshake that creates no
 * session gives its slot back at once.
 */
export class Admission {
  private readonly origins: OriginPolicy;
  private readonly trusted: TrustedProxies;
  private readonly client: AdmissionClient | undefined;

  constructor(config: Pick<Config, "corsOrigin" | "trustProxy" | "maxConnectionsPerIp" | "connectionRate">) {
    this.origins = new OriginPolicy(config.corsOrigin);
    this.trusted = new TrustedProxies(config.trustProxy);
    this.client = addressLimitsEnabled(config) ? new AdmissionClient() : undefined;
  }

  /** Whether new sessions are counted (one round trip to the primary per handshake). */
  get limited(): boolean {
    return this.client !== undefined;
  }

  /** The refusal of a request with this `Origin` header, when the allowlist does not have it. */
  checkOrigin(origin: string | undefined | null): Refusal | undefined {
    if (this.origins.allows(origin)) return undefined;
    debug("refused origin %s", origin);
    refusalCounts.origin++;
    return ORIGIN_REFUSAL;
  }

  /** The client's address (see `client-address.ts`). */
  clientAddress(peer: string, forwardedFor: string | undefined): string {
    return clientAddress(peer, forwardedFor, this.trusted);
  }

  /**
   * For a handshake that passed engine.io's own checks: resolves `undefined` when a session
   * from `address` may open (call {@link lease} right before letting the handshake go on), or
   * the refusal. Only when {@link limited}.
   */
  async admit(address: string): Promise<Refusal | undefined> {
    if (!this.client) return undefined;
    const verdict = await this.client.admit(address);
    if (verdict.ok) return undefined;
    debug("refused %s: %s", address, verdict.reason);
    refusalCounts[verdict.reason]++;
    return limitRefusal(verdict.reason, verdict.retryAfterS);
  }

  /** Marks a handshake request with its client address, for {@link opened}. */
  mark(request: object, address: string): void {
    (request as { [MARK]?: Mark })[MARK] = { address };
  }

  /**
   * Hands the slot {@link admit} counted to the session `request` creates. Call it right before
   * the handshake goes on: a handshake creates its session within the same turn of the event
   * loop, so a slot still unclaimed at the next turn was not used and is given back.
   */
  lease(request: object, address: string): void {
    const lease = { settled: false };
    (request as { [MARK]?: Mark })[MARK] = { address, lease };
    setImmediate(() => {
      if (lease.settled) return;
      lease.settled = true;
      debug("handshake from %s opened no session: slot given back", address);
      this.client?.change(address, -1);
    });
  }

  /** A session opened here from a handshake: it takes its address and its slot. */
  opened(session: AdmittedSession): void {
    const mark = (session.request as { [MARK]?: Mark } | null | undefined)?.[MARK];
    if (!mark) return;
    session.remoteAddress = mark.address;
    const lease = mark.lease;
    if (!lease || lease.settled) return;
    lease.settled = true;
    session.once("close", () => this.client?.change(mark.address, -1));
  }

  /** A session that moved here from another worker (which gave its slot back): this worker holds it now. */
  adopted(session: AdmittedSession): void {
    const client = this.client;
    if (!client) return;
    const address = session.remoteAddress;
    client.change(address, 1);
    session.once("close", () => client.change(address, -1));
  }
}
