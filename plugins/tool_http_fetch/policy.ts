/**
 * The host half of `http_fetch`'s address rules (spec/tools.md §7): which
 * URLs a hop may go to before any sandbox starts. The URL is parsed with
 * the WHATWG parser (which normalises decimal, octal and hex IPv4), then
 * scheme, credentials, port, name and IP-literal checks apply;
 * `tools.http.allowPrivate` lets listed CIDRs, names and `host:port`
 * entries through. The worker checks resolved addresses again with the
 * same ranges.
 *
 * @module
 */
import { ToolError, type ToolsConfig } from "@synth/kernel";
import ipaddr from "ipaddr.js";

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type HttpConfig = ToolsConfig["http"];

/** Longest URL accepted, also for redirect targets. */
export const MAX_URL_CHARS = 2_048;

/** Blocked IPv4 ranges with what they are (spec/tools.md §7). */
export const BLOCKED_IPV4: ReadonlyArray<readonly [string, string]> = [
  ["0.0.0.0/8", "this network"],
  ["10.0.0.0/8", "private"],
  ["100.64.0.0/10", "shared address space"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["172.16.0.0/12", "private"],
  ["192.0.0.0/24", "IETF protocol assignments"],
  ["192.0.2.0/24", "documentation"],
  ["192.168.0.0/16", "private"],
  ["198.18.0.0/15", "benchmarking"],
  ["198.51.100.0/24", "documentation"],
  ["203.0.113.0/24", "documentation"],
  ["224.0.0.0/4", "multicast"],
  ["240.0.0.0/4", "reserved"],
];

/** Blocked IPv6 ranges. */
export const BLOCKED_IPV6: ReadonlyArray<readonly [string, string]> = [
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  ["fc00::/7", "unique local"],
  ["fe80::/10", "link-local"],
  ["ff00::/8", "multicast"],
  ["2001:db8::/32", "documentation"],
  ["100::/64", "discard-only"],
];

/** IPv6 ranges judged by the IPv4 address in their last 32 bits. */
const EMBEDDING_IPV6 = ["::ffff:0:0/96", "64:ff9b::/96"];

/** `tools.http.allowPrivate`, parsed. */
export interface AllowList {
  /** Canonical CIDRs (`127.0.0.0/8`, `::1/128`) for any port. */
  cidrs: string[];
  /** Lower-case names (`printer.local`, `*.corp.example`) for any port. */
  names: string[];
  /** `host:port` entries: an address (as a /32 or /128 CIDR) or a name, and the port. */
  hostPorts: Array<{ cidr: string | null; name: string | null; port: number }>;
}

/** What a hop's sandbox call needs once the URL passed. */
export interface CheckedTarget {
  url: URL;
  /** The host without brackets, lower case. */
  host: string;
  port: number;
  /** Whether the host is an IP address. */
  literal: boolean;
  /** The `--allow-net` entry: the name (no port; the tool enforces it) or the address. */
  grant: string;
  /** CIDRs the worker lets through although blocked. */
  allow: string[];
  /** Whether an allowPrivate name covers the host, so any address it resolves to is fine. */
  allowAnyAddress: boolean;
}

function parseAddress(text: string): Address | null {
  const bare = text.replace(/^\[(.*)\]$/, "$1");
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare);
  if (bare.includes(":") && ipaddr.IPv6.isValid(bare)) return ipaddr.IPv6.parse(bare);
  return null;
}

function cidrOf(text: string): string | null {
  if (text.includes("/")) {
    if (!ipaddr.isValidCIDR(text)) return null;
    const [address, bits] = ipaddr.parseCIDR(text);
    return `${address.toString()}/${bits}`;
  }
  const address = parseAddress(text);
  return address ? `${address.toString()}/${address.kind() === "ipv4" ? 32 : 128}` : null;
}

/**
 * Parses `tools.http.allowPrivate`: CIDRs, single addresses, names (a
 * leading `*.` matches any subdomain) and `host:port` entries.
 *
 * @throws {ToolError} `TOOLS_NET_CONFIG_INVALID` naming an entry that is none of these.
 */
export function parseAllowList(entries: readonly string[]): AllowList {
  const list: AllowList = { cidrs: [], names: [], hostPorts: [] };
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    const cidr = cidrOf(entry);
    if (cidr) {
      list.cidrs.push(cidr);
      continue;
    }
    const hostPort = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(entry);
    if (hostPort && Number(hostPort[2]) >= 1 && Number(hostPort[2]) <= 65_535) {
      const host = hostPort[1]!;
      const address = cidrOf(host.replace(/^\[(.*)\]$/, "$1"));
      if (address || isName(host)) {
        list.hostPorts.push({
          cidr: address,
          name: address ? null : host,
          port: Number(hostPort[2]),
        });
        continue;
      }
    }
    if (isName(entry.replace(/^\*\./, ""))) {
      list.names.push(entry.replace(/\.$/, ""));
      continue;
    }
    throw new ToolError(
      "TOOLS_NET_CONFIG_INVALID",
      `tools.http.allowPrivate entry "${raw}" is not a CIDR range, an address, a host name or host:port`,
    );
  }
  return list;
}

function isName(text: string): boolean {
  return /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/.test(text);
}

function nameMatches(pattern: string, host: string): boolean {
  return pattern.startsWith("*.") ? host.endsWith(pattern.slice(1)) : host === pattern;
}

function inCidr(address: Address, cidr: string): boolean {
  const [range, bits] = ipaddr.parseCIDR(cidr);
  return range.kind() === address.kind() && address.match(range, bits);
}

/**
 * The blocked range an address lies in (`"127.0.0.0/8 (loopback)"`), or
 * null when it is reachable or inside one of `allow`. Embedding IPv6
 * addresses (`::ffff:0:0/96`, `64:ff9b::/96`) are judged by their IPv4.
 */
export function blockedRangeOf(address: Address, allow: readonly string[] = []): string | null {
  if (allow.some((cidr) => inCidr(address, cidr))) return null;
  if (address.kind() === "ipv6") {
    const embedding = EMBEDDING_IPV6.find((cidr) => inCidr(address, cidr));
    if (embedding) {
      const v4 = new ipaddr.IPv4(address.toByteArray().slice(12));
      if (allow.some((cidr) => inCidr(v4, cidr))) return null;
      const inner = BLOCKED_IPV4.find(([cidr]) => inCidr(v4, cidr));
      return inner ? `${inner[0]} (${inner[1]}, embedded in ${embedding})` : null;
    }
    const found = BLOCKED_IPV6.find(([cidr]) => inCidr(address, cidr));
    return found ? `${found[0]} (${found[1]})` : null;
  }
  const found = BLOCKED_IPV4.find(([cidr]) => inCidr(address, cidr));
  return found ? `${found[0]} (${found[1]})` : null;
}

/** Whether a name is one of `localhost`, `*.localhost`, `*.local`, `*.internal`. */
export function isBlockedName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.+$/, "");
  return name === "localhost" || /\.(localhost|local|internal)$/.test(name);
}

/**
 * Checks a URL against every rule of spec/tools.md §7 and says how its hop
 * runs. `from` is the URL that redirected here (HTTPS → HTTP is then
 * refused unless `allowDowngrade`).
 *
 * @throws {ToolError} `TOOLS_NET_URL_INVALID`, `TOOLS_NET_BLOCKED_SCHEME`,
 * `TOOLS_NET_CREDENTIALS_IN_URL`, `TOOLS_NET_BLOCKED_PORT`,
 * `TOOLS_NET_BLOCKED_NAME`, `TOOLS_NET_BLOCKED_ADDRESS`,
 * `TOOLS_NET_IPV6_DISABLED`, `TOOLS_NET_DOWNGRADE`.
 */
export function checkTarget(
  text: string,
  config: HttpConfig,
  options: { from?: URL; allowList?: AllowList } = {},
): CheckedTarget {
  if (text.length > MAX_URL_CHARS) {
    throw new ToolError(
      "TOOLS_NET_URL_INVALID",
      `The URL is longer than ${MAX_URL_CHARS} characters`,
    );
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ToolError("TOOLS_NET_URL_INVALID", `"${text}" is not an absolute URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ToolError(
      "TOOLS_NET_BLOCKED_SCHEME",
      `Only http and https URLs can be fetched, not ${url.protocol.slice(0, -1)}`,
    );
  }
  if (url.username || url.password) {
    throw new ToolError(
      "TOOLS_NET_CREDENTIALS_IN_URL",
      "URLs with a user name or password are refused; fetch the URL without credentials",
    );
  }
  if (options.from?.protocol === "https:" && url.protocol === "http:" && !config.allowDowngrade) {
    throw new ToolError(
      "TOOLS_NET_DOWNGRADE",
      `${options.from.href} redirected to plain HTTP (${url.href}); tools.http.allowDowngrade is off`,
    );
  }
  const allowList = options.allowList ?? parseAllowList(config.allowPrivate);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  const address = parseAddress(host);
  const name = host.replace(/\.+$/, "");
  const portEntries = allowList.hostPorts.filter((entry) =>
    entry.port === port &&
    (address
      ? entry.cidr !== null && inCidr(address, entry.cidr)
      : entry.name !== null && entry.name.replace(/\.+$/, "") === name)
  );
  // Addresses and names first: they are the more telling reason for a refusal.
  const checkPort = () => {
    if (config.allowedPorts.includes(port) || portEntries.length > 0) return;
    throw new ToolError(
      "TOOLS_NET_BLOCKED_PORT",
      `Port ${port} is not in tools.http.allowedPorts (${config.allowedPorts.join(", ")})`,
    );
  };
  const allow = [
    ...allowList.cidrs,
    ...allowList.hostPorts.filter((entry) => entry.port === port && entry.cidr)
      .map((entry) => entry.cidr!),
  ];
  if (address) {
    const range = blockedRangeOf(address, allow);
    if (range) {
      throw new ToolError(
        "TOOLS_NET_BLOCKED_ADDRESS",
        `${address.toString()} is in the blocked range ${range}; list it in tools.http.allowPrivate to allow it`,
      );
    }
    if (address.kind() === "ipv6" && !config.ipv6) {
      throw new ToolError(
        "TOOLS_NET_IPV6_DISABLED",
        `${address.toString()} is an IPv6 address, and IPv6 destinations are off (tools.http.ipv6)`,
      );
    }
    checkPort();
    return {
      url,
      host,
      port,
      literal: true,
      grant: address.kind() === "ipv6" ? `[${address.toString()}]` : address.toString(),
      allow,
      allowAnyAddress: false,
    };
  }
  const nameAllowed = allowList.names.some((pattern) => nameMatches(pattern, name)) ||
    portEntries.length > 0;
  if (isBlockedName(name) && !nameAllowed) {
    throw new ToolError(
      "TOOLS_NET_BLOCKED_NAME",
      `${host} is a local name (localhost, *.localhost, *.local, *.internal); list it in tools.http.allowPrivate to allow it`,
    );
  }
  checkPort();
  return {
    url,
    host,
    port,
    literal: false,
    grant: host,
    allow,
    allowAnyAddress: nameAllowed,
  };
}

/**
 * The IPv4 ranges a hop's child should get as `--deny-net` (spec/tools.md
 * §7): the blocked ones, minus any that an allowed CIDR overlaps (deny wins
 * over allow in Deno, so such a range is left out whole; the worker's own
 * check still refuses its other addresses). Empty when the host is allowed
 * by name, whatever it resolves to.
 */
export function denyNetFor(target: CheckedTarget): string[] {
  if (target.allowAnyAddress) return [];
  const allowed = target.allow.filter((cidr) => !cidr.includes(":")).map((cidr) =>
    ipaddr.parseCIDR(cidr)
  );
  return BLOCKED_IPV4.map(([cidr]) => cidr).filter((cidr) => {
    const [range, bits] = ipaddr.parseCIDR(cidr);
    return !allowed.some(([address, allowBits]) =>
      allowBits >= bits ? address.match(range, bits) : range.match(address, allowBits)
    );
  });
}
