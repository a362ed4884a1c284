import type { Config } from "../../config/env";

/**
 * The origin allowlist (`CORS_ORIGIN` as a list). Engine.IO only answers CORS headers, which a
 * browser enforces for polling but nothing enforces for WebSockets; this refuses the request.
 * A request without `Origin` (not from a browser) is allowed; `*` or unset allows everything.
 */
export class OriginPolicy {
  private readonly allowed: ReadonlySet<string> | undefined;

  constructor(corsOrigin: Config["corsOrigin"]) {
    this.allowed = Array.isArray(corsOrigin) ? new Set(corsOrigin.map((origin) => origin.toLowerCase())) : undefined;
  }

  /** Whether the list is enforced at all. */
  get enforced(): boolean {
    return this.allowed !== undefined;
  }

  /** Whether a request with this `Origin` header (`undefined` or `""`: none) may go on. */
  allows(origin: string | undefined | null): boolean {
    if (!this.allowed || !origin) return true;
    return this.allowed.has(origin.toLowerCase());
  }
}
