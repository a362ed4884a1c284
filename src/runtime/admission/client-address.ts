import net from "node:net";

/** Most `X-Forwarded-For` entries looked at, from the right (a bound on the work per request). */
const MAX_HOPS = 32;

/**
 * One textual form per address, so that an address counts once whatever form it came in:
 * IPv4 as dotted quad (IPv4-mapped IPv6 too: `::ffff:127.0.0.1`, uWS's
 * `0000:…:ffff:7f00:0001`), IPv6 compressed and in lower case. Accepts the forms proxies write in
 * `X-Forwarded-For` (`[v6]`, `[v6]:port`, `v4:port`). Returns `undefined` for anything else.
 */
export function canonicalAddress(text: string): string | undefined {
  let value = text.trim();
  if (value.startsWith("[")) {
    const end = value.indexOf("]");
    if (end === -1) return undefined;
    value = value.slice(1, end);
  } else {
    const colon = value.indexOf(":");
    if (colon !== -1 && colon === value.lastIndexOf(":") && value.includes(".")) value = value.slice(0, colon); // v4:port
  }
  if (net.isIPv4(value)) return value;
  if (!net.isIPv6(value)) return undefined;
  let compact: string;
  try {
    compact = new URL(`http://[${value}]/`).hostname.slice(1, -1);
  } catch {
    return value.toLowerCase(); // a zone id (fe80::1%eth0): kept as written
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compact);
  if (!mapped) return compact;
  const high = parseInt(mapped[1]!, 16);
  const low = parseInt(mapped[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/**
 * The reverse proxies whose `X-Forwarded-For` is believed (`TRUST_PROXY`): exact addresses,
 * CIDR ranges (`10.0.0.0/8`, `fd00::/8`) and `loopback` (127.0.0.0/8 and ::1).
 */
export class TrustedProxies {
  private readonly list = new net.BlockList();
  readonly empty: boolean;

  /** @throws Error naming the first entry that is not an address, a range or `loopback`. */
  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const raw of entries) {
      const entry = raw.trim();
      if (entry === "loopback") {
        this.list.addSubnet("127.0.0.0", 8, "ipv4");
        this.list.addAddress("::1", "ipv6");
        continue;
      }
      const [address, prefix] = entry.split("/") as [string, string | undefined];
      const canonical = canonicalAddress(address);
      const type = canonical && net.isIPv4(canonical) ? "ipv4" : "ipv6";
      const bits = prefix === undefined ? undefined : Number(prefix);
      if (!canonical || (bits !== undefined && !(Number.isInteger(bits) && bits >= 0 && bits <= (type === "ipv4" ? 32 : 128)))) {
        throw new Error(`not an IP address, a CIDR range or loopback: ${JSON.stringify(entry)}`);
      }
      if (bits === undefined) this.list.addAddress(canonical, type);
      else this.list.addSubnet(canonical, bits, type);
    }
  }

  /** Whether `address` (canonical, see {@link canonicalAddress}) is a trusted proxy. */
  has(address: string): boolean {
    if (this.empty) return false;
    if (net.isIPv4(address)) return this.list.check(address, "ipv4");
    return net.isIPv6(address) && this.list.check(address, "ipv6");
  }
}

/**
 * The client's address: the TCP peer's, unless the peer is a trusted proxy; then, walking
 * `X-Forwarded-For` from the right (each proxy appends the address it got the request from),
 * the first entry that is not a trusted proxy. When every entry is trusted, the left-most one;
 * an entry that is not an address stops the walk at the last address known good.
 *
 * @param peer the TCP peer's address as the server gives it
 * @param forwardedFor the `X-Forwarded-For` header (several header lines joined with `,`)
 */
export function clientAddress(peer: string, forwardedFor: string | undefined, trusted: TrustedProxies): string {
  let current = canonicalAddress(peer) ?? peer;
  if (!forwardedFor || !trusted.has(current)) return current;
  const hops = forwardedFor.split(",");
  const last = Math.max(0, hops.length - MAX_HOPS);
  for (let i = hops.length - 1; i >= last; i--) {
    const hop = canonicalAddress(hops[i]!);
    if (!hop) return current;
    current = hop;
    if (!trusted.has(current)) return current;
  }
  return current;
}
