/**
 * Addresses and CIDR ranges (spec/server.md §7–8) on npm `ipaddr.js`:
 * parsing with canonical networks, IPv4-mapped IPv6 treated as IPv4, and
 * the client address from the socket peer or, only behind a trusted proxy,
 * from its forwarding header read right to left.
 *
 * @module
 */
import ipaddr from "ipaddr.js";

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** A parsed CIDR range. */
export interface Cidr {
  /** Canonical text, e.g. `10.0.0.0/8`, `2001:db8::/32`. */
  readonly text: string;
  readonly range: [Address, number];
}

/** Why a CIDR is refused: its text names the canonical network when host bits were set. */
export class CidrError extends Error {
  constructor(message: string, readonly canonical?: string) {
    super(message);
    this.name = "CidrError";
  }
}

/** `::ffff:a.b.c.d` becomes IPv4. */
function unmap(address: Address): Address {
  return address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress()
    ? (address as ipaddr.IPv6).toIPv4Address()
    : address;
}

/** Parses an address (brackets and IPv4-mapped IPv6 allowed); null when it is not one. */
export function parseIp(text: string): Address | null {
  const bare = text.trim().replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  if (!ipaddr.isValid(bare)) return null;
  try {
    return unmap(ipaddr.parse(bare));
  } catch {
    return null;
  }
}

/** The canonical text of an address (`local` and other non-addresses pass unchanged). */
export function normaliseIp(text: string): string {
  // Every request asks for its peer's: plain dotted IPv4 is canonical as it stands, unparsed.
  if (IPV4_DOTTED.test(text)) return text;
  const address = parseIp(text);
  return address ? address.toString() : text;
}

/**
 * Parses `a.b.c.d/n`, `x::/n` or a bare address (/32, /128). Host bits set
 * are refused, naming the canonical network.
 *
 * @throws {CidrError} When the text is not a CIDR or has host bits set.
 */
export function parseCidr(text: string): Cidr {
  const trimmed = text.trim();
  if (/\s/.test(trimmed)) throw new CidrError(`"${text}" has spaces inside; write it without`);
  const [addressPart = "", bitsPart] = trimmed.split("/", 2);
  // ipaddr.js also reads octal (010.0.0.1 = 8.0.0.1), hex and whole-number IPv4, and a zone on
  // IPv6: a rule must say plainly what it covers, so those are refused, naming the reading.
  const looksIpv4 = !addressPart.includes(":");
  // IPv6 may end in dotted IPv4 (::ffff:10.0.0.1): that part too.
  const ipv4Tail = looksIpv4 ? null : /:([^:]*\.[^:]*)$/.exec(addressPart)?.[1] ?? null;
  if (
    (looksIpv4 && !IPV4_DOTTED.test(addressPart)) || addressPart.includes("%") ||
    (ipv4Tail !== null && !IPV4_DOTTED.test(ipv4Tail)) ||
    (bitsPart !== undefined && !/^\d{1,3}$/.test(bitsPart))
  ) {
    const read = looksIpv4 || ipv4Tail !== null ? parseIp(addressPart) : null;
    throw new CidrError(
      read
        ? `"${text}" is not in standard form: it reads as ${read.toString()} (a leading zero ` +
          "is octal, 0x hex, one number the whole address); write four decimal numbers without " +
          "leading zeros"
        : addressPart.includes("%")
        ? `"${text}" is not in standard form: an address with a zone (%…) cannot be a rule`
        : `"${text}" is not an IP address or CIDR range`,
    );
  }
  if (!trimmed.includes("/")) {
    const address = parseIp(trimmed);
    if (!address) throw new CidrError(`"${text}" is not an IP address or CIDR range`);
    const bits = address.kind() === "ipv4" ? 32 : 128;
    return { text: `${address.toString()}/${bits}`, range: [address, bits] };
  }
  let parsed: [Address, number];
  try {
    parsed = ipaddr.parseCIDR(trimmed);
  } catch {
    throw new CidrError(`"${text}" is not an IP address or CIDR range`);
  }
  let [address, bits] = parsed;
  if (address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    address = (address as ipaddr.IPv6).toIPv4Address();
    bits -= 96;
  }
  const network = address.kind() === "ipv4"
    ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${bits}`)
    : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`);
  const canonical = `${network.toString()}/${bits}`;
  if (network.toString() !== address.toString()) {
    throw new CidrError(`"${text}" has host bits set; the network is ${canonical}`, canonical);
  }
  return { text: canonical, range: [address, bits] };
}

/** Dotted-decimal IPv4: four numbers 0–255 without leading zeros. */
const IPV4_DOTTED =
  /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Whether `ip` (text) lies in `cidr`. */
export function inCidr(ip: string, cidr: Cidr): boolean {
  const address = parseIp(ip);
  if (!address || address.kind() !== cidr.range[0].kind()) return false;
  return address.match(cidr.range);
}

/**
 * The rate-limit key of an address: IPv4 whole, IPv6 by its /64's network address (without the
 * "/64", so that the key can stand in a path: `DELETE /api/ratelimit/clients/{key}`).
 */
export function ipBucket(ip: string): string {
  const address = parseIp(ip);
  if (!address) return ip;
  if (address.kind() === "ipv4") return address.toString();
  return ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/64`).toString();
}

/** Options for {@link clientIpFrom}. */
export interface ClientIpOptions {
  trusted: readonly Cidr[];
  header: "x-forwarded-for" | "forwarded";
}

/** The addresses a `Forwarded` header lists (`for=`), in order. */
function forwardedFor(value: string): string[] {
  return value.split(",").flatMap((element) => {
    const match = /(?:^|;)\s*for=("?)\[?([^;",\]]+)\]?(?::\d+)?\1/i.exec(element);
    return match ? [match[2]!] : [];
  });
}

/**
 * The client address: the peer, unless the peer is a trusted proxy; then the
 * forwarding header is read right to left, skipping trusted hops, and the
 * first untrusted address is the client.
 */
export function clientIpFrom(peer: string, headers: Headers, options: ClientIpOptions): string {
  const isTrusted = (ip: string) => options.trusted.some((cidr) => inCidr(ip, cidr));
  if (options.trusted.length === 0 || !isTrusted(peer)) return normaliseIp(peer);
  const raw = headers.get(options.header);
  if (!raw) return normaliseIp(peer);
  const hops = options.header === "forwarded"
    ? forwardedFor(raw)
    : raw.split(",").map((hop) => hop.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    const address = parseIp(hop.replace(/:\d+$/, (port) => (hop.includes(".") ? "" : port)));
    if (!address) return normaliseIp(peer); // garbage from the proxy: trust only what it is
    if (!isTrusted(address.toString())) return address.toString();
  }
  return normaliseIp(hops[0] ?? peer);
}
