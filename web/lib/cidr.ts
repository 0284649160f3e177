/**
 * CIDR ranges for the firewall form (spec/dashboard.md §5.7, server.md §8),
 * checked in the browser before anything is sent. Pure: the same reading as
 * the server's `parseCidr` (npm `ipaddr.js`): IPv4 in four decimal parts,
 * IPv6 with `::` and an embedded IPv4 tail, a bare address as /32 or /128,
 * IPv4-mapped IPv6 read as IPv4, and host bits refused with the network
 * they leave out named. The canonical text follows RFC 5952.
 *
 * @module
 */

/** A valid range. */
export interface CidrRange {
  version: 4 | 6;
  /** The network's bytes: 4 for IPv4, 16 for IPv6. */
  bytes: number[];
  prefix: number;
  /** Canonical text, e.g. `10.0.0.0/8`, `2001:db8::/32`. */
  text: string;
}

/** The outcome of {@link parseCidr}: a range, or why the text is not one. */
export type CidrParse =
  | { ok: true; range: CidrRange }
  | { ok: false; message: string; canonical?: string };

const IPV4_PART = /^(0|[1-9][0-9]{0,2})$/;
const IPV6_GROUP = /^[0-9a-f]{1,4}$/;

/** Four decimal parts (no leading zeros, which other readers take as octal); null otherwise. */
function parseIpv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!IPV4_PART.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes.push(value);
  }
  return bytes;
}

/** Sixteen bytes of an IPv6 address (`::` once, an IPv4 tail allowed); null otherwise. */
function parseIpv6(text: string): number[] | null {
  // `::a.b.c.d` (the deprecated IPv4-compatible form) means `::ffff:a.b.c.d`, as in ipaddr.js.
  const lower = /^::\d+\.\d+\.\d+\.\d+$/.test(text)
    ? `::ffff:${text.slice(2)}`
    : text.toLowerCase();
  const halves = lower.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string): number[] | null => {
    if (half === "") return [];
    const out: number[] = [];
    const items = half.split(":");
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i === items.length - 1 && item.includes(".")) {
        const v4 = parseIpv4(item);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (IPV6_GROUP.test(item)) out.push(parseInt(item, 16));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]!);
  if (!head) return null;
  let words: number[];
  if (halves.length === 2) {
    const tail = groups(halves[1]!);
    // An IPv4 tail may end only the address, so it cannot sit in the head of a `::` form.
    if (!tail || head.length + tail.length > 7 || halves[0]!.includes(".")) return null;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    if (head.length !== 8) return null;
    words = head;
  }
  return words.flatMap((word) => [word >> 8, word & 0xff]);
}

/** RFC 5952: lower-case hex without leading zeros, the first longest run of ≥ 2 zero groups as `::`. */
function formatIpv6(bytes: readonly number[]): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (list: number[]) => list.map((word) => word.toString(16)).join(":");
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLength))}`;
}

function format(version: 4 | 6, bytes: readonly number[]): string {
  return version === 4 ? bytes.join(".") : formatIpv6(bytes);
}

/** Whether bytes 0–9 are zero and 10–11 are 0xff: `::ffff:a.b.c.d`. */
function isIpv4Mapped(bytes: readonly number[]): boolean {
  return bytes.slice(0, 10).every((byte) => byte === 0) && bytes[10] === 0xff &&
    bytes[11] === 0xff;
}

/** The address with every bit past `prefix` cleared. */
function network(bytes: readonly number[], prefix: number): number[] {
  return bytes.map((byte, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return byte & (0xff << (8 - keep)) & 0xff;
  });
}

function invalid(text: string): CidrParse {
  return {
    ok: false,
    message: `"${text}" is not an IP address or CIDR range (e.g. 203.0.113.0/24 or 2001:db8::/32)`,
  };
}

/**
 * Parses `a.b.c.d/n`, `x::/n` or a bare address (/32, /128; IPv6 may be
 * bracketed). A range with host bits set is refused, naming its network.
 *
 * @example
 * parseCidr("10.0.0.0/8");  // { ok: true, range: { text: "10.0.0.0/8", … } }
 * parseCidr("10.0.0.1/8");  // { ok: false, canonical: "10.0.0.0/8", message: … }
 */
export function parseCidr(text: string): CidrParse {
  const trimmed = text.trim();
  const slash = trimmed.indexOf("/");
  const addressText = slash < 0 ? trimmed.replace(/^\[(.*)\]$/, "$1") : trimmed.slice(0, slash);
  const prefixText = slash < 0 ? null : trimmed.slice(slash + 1);
  let version: 4 | 6 = 4;
  let bytes = parseIpv4(addressText);
  if (!bytes) {
    version = 6;
    bytes = parseIpv6(addressText);
  }
  if (!bytes) return invalid(text);
  let prefix = version === 4 ? 32 : 128;
  if (prefixText !== null) {
    if (!/^[0-9]{1,3}$/.test(prefixText)) return invalid(text);
    prefix = Number(prefixText);
    if (prefix > (version === 4 ? 32 : 128)) {
      return {
        ok: false,
        message: `"${text}" has a prefix length over ${version === 4 ? 32 : 128}`,
      };
    }
  }
  // `::ffff:a.b.c.d` is an IPv4 client (the server unmaps it, whole or as a range of ≥ 96 bits).
  if (version === 6 && isIpv4Mapped(bytes) && prefix >= 96) {
    version = 4;
    bytes = bytes.slice(12);
    prefix -= 96;
  }
  const net = network(bytes, prefix);
  const canonical = `${format(version, net)}/${prefix}`;
  if (net.some((byte, i) => byte !== bytes[i])) {
    return {
      ok: false,
      message: `"${text}" has host bits set; the network is ${canonical}`,
      canonical,
    };
  }
  return { ok: true, range: { version, bytes: net, prefix, text: canonical } };
}
