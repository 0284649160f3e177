/**
 * The sandboxed half of `http_fetch` (spec/tools.md §7): one hop. It
 * resolves the name itself (`node:dns/promises`, needing `--allow-net=<host>`),
 * refuses blocked addresses, fetches with `redirect: "manual"`, streams the
 * body up to the byte cap, decodes text and extracts the text of HTML. A
 * redirect goes back to the host, which checks the new URL and runs the next
 * hop as a new sandbox call.
 *
 * Sent as source into the sandbox: only `import type`, no other imports.
 *
 * @module
 */
import type { WorkerContext } from "@synth/kernel";

/** What the host sends for one hop. */
export interface HopArgs {
  /** The checked URL. */
  url: string;
  /** Whether the host is an IP literal (nothing to resolve). */
  literal: boolean;
  /** CIDRs (`127.0.0.0/8`, `::1/128`) reachable although blocked. */
  allow: string[];
  /** The host name is allowed whatever it resolves to (`tools.http.allowPrivate` names). */
  allowAnyAddress: boolean;
  /** Whether IPv6 destinations may be used. */
  ipv6: boolean;
  /** Body bytes read at most. */
  maxBytes: number;
  /** Time limit of the hop's request. */
  timeoutMs: number;
  /** `User-Agent` header. */
  userAgent: string;
  /** Extract the text of HTML. */
  extractText: boolean;
  /** Content characters returned at most. */
  maxChars: number;
}

/** A hop's outcome: a redirect for the host to check, or the response. */
export type HopResult =
  | { redirect: string; status: number }
  | {
    status: number;
    contentType: string | null;
    title: string | null;
    content: string | null;
    bytes: number;
    truncated: boolean;
    note?: string;
  };

function fail(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

// ---------------------------------------------------------------- addresses

/** Blocked IPv4 ranges (spec/tools.md §7) with what they are. */
const BLOCKED_V4: ReadonlyArray<readonly [string, string]> = [
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
const BLOCKED_V6: ReadonlyArray<readonly [string, string]> = [
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  ["fc00::/7", "unique local"],
  ["fe80::/10", "link-local"],
  ["ff00::/8", "multicast"],
  ["2001:db8::/32", "documentation"],
  ["100::/64", "discard-only"],
];

/** IPv6 ranges whose last 32 bits are an IPv4 address, judged as that address. */
const EMBEDDING_V6 = ["::ffff:0:0/96", "64:ff9b::/96"];

/** Parses a dotted-quad IPv4 address into 4 bytes, or null. */
function parseV4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes.push(value);
  }
  return bytes;
}

/** Parses an IPv6 address (`::`, an IPv4 tail and a zone allowed) into 16 bytes, or null. */
function parseV6(text: string): number[] | null {
  let rest = text.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  let tail: number[] = [];
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(rest);
  if (v4) {
    const bytes = parseV4(v4[1]!);
    if (!bytes) return null;
    tail = bytes;
    rest = rest.slice(0, v4.index + 1) + "0:0";
    // Re-parsed as two groups below, then replaced by the IPv4 bytes.
  }
  const halves = rest.split("::");
  if (halves.length > 2) return null;
  const groups = (half: string) => half === "" ? [] : half.split(":");
  const head = groups(halves[0]!);
  const back = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - head.length - back.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...back];
  const bytes: number[] = [];
  for (const group of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return null;
    const value = parseInt(group, 16);
    bytes.push(value >> 8, value & 0xff);
  }
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** An address as bytes (4 for IPv4, 16 for IPv6), or null. */
function parseAddress(text: string): number[] | null {
  return text.includes(":") ? parseV6(text) : parseV4(text);
}

/** Parses `addr/bits` (a bare address is a single-address range). */
function parseRange(text: string): { bytes: number[]; bits: number } | null {
  const [address = "", bitsText] = text.split("/");
  const bytes = parseAddress(address);
  if (!bytes) return null;
  const bits = bitsText === undefined ? bytes.length * 8 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) return null;
  return { bytes, bits };
}

/** Whether the address bytes lie in the range. */
function inRange(bytes: number[], range: { bytes: number[]; bits: number }): boolean {
  if (bytes.length !== range.bytes.length) return false;
  for (let bit = 0; bit < range.bits; bit += 8) {
    const take = Math.min(8, range.bits - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    const index = bit / 8;
    if ((bytes[index]! & mask) !== (range.bytes[index]! & mask)) return false;
  }
  return true;
}

function matches(bytes: number[], cidr: string): boolean {
  const range = parseRange(cidr);
  return range !== null && inRange(bytes, range);
}

/**
 * The blocked range an address lies in, as `"127.0.0.0/8 (loopback)"`, or
 * null when it may be reached: outside every range of spec/tools.md §7, or
 * inside one of `allow` (CIDRs). `::ffff:0:0/96` and `64:ff9b::/96`
 * addresses are judged by their embedded IPv4. Text that is no address is
 * refused as such.
 */
export function blockedRange(address: string, allow: readonly string[] = []): string | null {
  const bytes = parseAddress(address);
  if (!bytes) return `an unparsable address "${address}"`;
  if (allow.some((cidr) => matches(bytes, cidr))) return null;
  if (bytes.length === 16) {
    const embedding = EMBEDDING_V6.find((cidr) => matches(bytes, cidr));
    if (embedding) {
      const v4 = bytes.slice(12);
      if (allow.some((cidr) => matches(v4, cidr))) return null;
      const inner = BLOCKED_V4.find(([cidr]) => matches(v4, cidr));
      return inner ? `${inner[0]} (${inner[1]}, embedded in ${embedding})` : null;
    }
    const found = BLOCKED_V6.find(([cidr]) => matches(bytes, cidr));
    return found ? `${found[0]} (${found[1]})` : null;
  }
  const found = BLOCKED_V4.find(([cidr]) => matches(bytes, cidr));
  return found ? `${found[0]} (${found[1]})` : null;
}

// ---------------------------------------------------------------- decoding

/** Whether a `Content-Type` names text (`text/*`, JSON, XML, XHTML, RSS, Atom). */
export function isTextType(contentType: string | null): boolean {
  if (!contentType) return false;
  const mime = contentType.split(";")[0]!.trim().toLowerCase();
  return mime.startsWith("text/") || mime === "application/json" || mime.endsWith("+json") ||
    mime === "application/xml" || mime.endsWith("+xml");
}

/** Whether a `Content-Type` is HTML or XHTML. */
export function isHtmlType(contentType: string | null): boolean {
  const mime = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  return mime === "text/html" || mime === "application/xhtml+xml";
}

/**
 * The body's character encoding label: a byte-order mark first, then the
 * header's `charset`, then `<meta charset>` / `http-equiv` or an XML
 * declaration in the first 4 KiB, else `utf-8`.
 */
export function detectCharset(bytes: Uint8Array, contentType: string | null): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return "utf-8";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return "utf-16be";
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return "utf-16le";
  const header = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? "");
  if (header && usable(header[1]!)) return header[1]!.toLowerCase();
  const head = new TextDecoder("windows-1252").decode(bytes.subarray(0, 4096));
  const meta = /<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)/i.exec(head) ??
    /^\s*<\?xml\b[^>]*\bencoding\s*=\s*["']([A-Za-z0-9_.-]+)["']/i.exec(head);
  if (meta && usable(meta[1]!)) {
    // A declaration readable as ASCII cannot be UTF-16 (the HTML standard says use UTF-8).
    return /^utf-16/i.test(meta[1]!) ? "utf-8" : meta[1]!.toLowerCase();
  }
  return "utf-8";
}

function usable(label: string): boolean {
  try {
    new TextDecoder(label);
    return true;
  } catch {
    return false;
  }
}

/** Decodes text bytes non-fatally (bad bytes become U+FFFD). */
export function decodeText(bytes: Uint8Array, contentType: string | null): string {
  return new TextDecoder(detectCharset(bytes, contentType), { fatal: false }).decode(bytes);
}

/** A body without a `Content-Type`: HTML, plain text (valid UTF-8 without NUL), or binary. */
function sniff(bytes: Uint8Array): string | null {
  const sample = bytes.subarray(0, 8192);
  const start = new TextDecoder("windows-1252").decode(sample.subarray(0, 512)).trimStart();
  if (/^(<!doctype html|<html|<head|<body)/i.test(start)) return "text/html";
  if (sample.includes(0)) return null;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(sample, { stream: true });
    return "text/plain";
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- HTML text

/** Named character references: the common ones (the full HTML list has 2,231). */
const ENTITIES: Record<string, string> = {
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
  ensp: "\u2002",
  emsp: "\u2003",
  thinsp: "\u2009",
  zwnj: "\u200c",
  zwj: "\u200d",
  shy: "\u00ad",
  ...Object.fromEntries(
    [
      "amp=& lt=< gt=> copy=© reg=® trade=™ hellip=… mdash=— ndash=– minus=− lsquo=‘",
      "rsquo=’ sbquo=‚ ldquo=“ rdquo=” bdquo=„ laquo=« raquo=» lsaquo=‹ rsaquo=› bull=•",
      "middot=· deg=° plusmn=± times=× divide=÷ frac12=½ frac14=¼ frac34=¾ sup1=¹",
      "sup2=² sup3=³ micro=µ para=¶ sect=§ euro=€ pound=£ yen=¥ cent=¢ curren=¤ iexcl=¡",
      "iquest=¿ dagger=† Dagger=‡ permil=‰ prime=′ Prime=″ larr=← rarr=→ uarr=↑ darr=↓",
      "harr=↔ le=≤ ge=≥ ne=≠ asymp=≈ infin=∞ hearts=♥ check=✓ alpha=α beta=β gamma=γ",
      "delta=δ pi=π sigma=σ mu=μ lambda=λ omega=ω Omega=Ω szlig=ß AElig=Æ aelig=æ",
      "OElig=Œ oelig=œ Oslash=Ø oslash=ø Aring=Å aring=å ETH=Ð eth=ð THORN=Þ thorn=þ",
    ].join(" ").split(" ").map((pair) => pair.split("=") as [string, string]),
  ),
};

/** Accented Latin letters: `&eacute;` and friends, built from combining marks. */
const ACCENTS: Record<string, string> = {
  acute: "\u0301",
  grave: "\u0300",
  circ: "\u0302",
  tilde: "\u0303",
  uml: "\u0308",
  cedil: "\u0327",
};

function namedEntity(name: string): string | undefined {
  const direct = ENTITIES[name];
  if (direct !== undefined) return direct;
  const accent = /^([A-Za-z])(acute|grave|circ|tilde|uml|cedil)$/.exec(name);
  if (accent) {
    const composed = (accent[1]! + ACCENTS[accent[2]!]!).normalize("NFC");
    return composed.length === 1 ? composed : undefined;
  }
  return undefined;
}

/** Decodes named (common ones) and numeric character references; unknown ones stay as written. */
export function decodeEntities(text: string): string {
  return text.replace(
    /&(#[xX][0-9a-fA-F]{1,8}|#\d{1,9}|[A-Za-z][A-Za-z0-9]{1,31});?/g,
    (all, ref) => {
      if (ref[0] === "#") {
        const code = ref[1] === "x" || ref[1] === "X"
          ? parseInt(ref.slice(2), 16)
          : parseInt(ref.slice(1), 10);
        if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return "\ufffd";
        return String.fromCodePoint(code);
      }
      if (!all.endsWith(";") && !["amp", "lt", "gt", "quot", "nbsp"].includes(ref)) return all;
      return namedEntity(ref) ?? all;
    },
  );
}

const DROPPED = new Set(["script", "style", "noscript", "template", "svg", "iframe", "head"]);
/** Elements whose content is text up to their closing tag (no nesting). */
const RAW_TEXT = new Set(["script", "style", "noscript", "iframe"]);
const BLOCKS = new Set(
  ("address article aside blockquote br caption dd details dialog div dl dt fieldset figcaption " +
    "figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table " +
    "tbody td tfoot th thead tr ul").split(" "),
);

/** Break markers while tags are replaced (private-use characters, removed from the source first). */
const LINE = "\ue000";
const PARAGRAPH = "\ue001";

/*
 * The scanner below is linear in the page's size: every search moves
 * forward, and a quote or tag never closed ends at the end of the text (as
 * in a browser). Backtracking regular expressions over whole tags took
 * minutes on 2 MiB of `<a "`.
 */

/** Where a tag whose name ends at `from` ends: after its `>`, or the end of the text. */
function tagEnd(html: string, from: number): number {
  let index = from;
  while (index < html.length) {
    const char = html[index]!;
    if (char === ">") return index + 1;
    index++;
    if (char !== "=") continue;
    while (index < html.length && /\s/.test(html[index]!)) index++;
    const quote = html[index];
    if (quote === '"' || quote === "'") {
      const close = html.indexOf(quote, index + 1);
      if (close < 0) return html.length;
      index = close + 1;
    }
  }
  return html.length;
}

const isSelfClosing = (html: string, end: number) => html[end - 1] === ">" && html[end - 2] === "/";

/** Where a dropped element whose start tag ends at `from` ends (after its end tag). */
function elementEnd(html: string, name: string, from: number): number {
  if (RAW_TEXT.has(name)) {
    const close = new RegExp(`</${name}(?=[\\s/>])`, "gi");
    close.lastIndex = from;
    const found = close.exec(html);
    return found ? tagEnd(html, found.index + found[0].length) : html.length;
  }
  const tag = new RegExp(
    `<(/?)${name}(?=[\\s/>])${name === "head" ? "|<body(?=[\\s/>])" : ""}`,
    "gi",
  );
  tag.lastIndex = from;
  let depth = 1;
  for (let match = tag.exec(html); match; match = tag.exec(html)) {
    // A missing </head> ends at <body>, which is kept.
    if (match[0][1] !== "/" && match[0].slice(1).toLowerCase() === "body") return match.index;
    const end = tagEnd(html, match.index + match[0].length);
    if (match[1]) depth--;
    else if (!isSelfClosing(html, end)) depth++;
    if (depth === 0) return end;
    tag.lastIndex = end;
  }
  return html.length;
}

/** The title element's text, or null. */
function titleOf(html: string): string | null {
  const open = /<title(?=[\s/>])/i.exec(html);
  if (!open) return null;
  const start = tagEnd(html, open.index + open[0].length);
  const close = /<\/title\s*>/gi;
  close.lastIndex = start;
  const found = close.exec(html);
  if (!found) return null;
  return collapse(decodeEntities(html.slice(start, found.index))).replace(/\n/g, " ") || null;
}

/** Collapses whitespace: spaces within lines, at most one empty line in a row. */
function collapse(text: string): string {
  return text
    .split("\n")
    .map((line) => line.replace(/[\s\u00a0]+/g, " ").trim())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** Text between tags: source line breaks are spaces in HTML; only block elements break lines. */
const flat = (text: string) => text.replace(/[\s\ue000\ue001]+/g, " ");

const TAG_NAME = /<(\/?)([A-Za-z][^\s/>]*)/y;

/**
 * The title and readable text of an HTML page, dependency-free: `script
 * style noscript template svg iframe head` dropped with their content (the
 * title kept apart), comments dropped, block elements as line breaks, other
 * tags removed, entities decoded, whitespace collapsed.
 */
export function extractHtml(html: string): { title: string | null; text: string } {
  const parts: string[] = [];
  let index = 0;
  while (index < html.length) {
    const open = html.indexOf("<", index);
    if (open < 0) {
      parts.push(flat(html.slice(index)));
      break;
    }
    parts.push(flat(html.slice(index, open)));
    if (html.startsWith("<!--", open)) {
      const end = html.indexOf("-->", open + 4);
      index = end < 0 ? html.length : end + 3;
      continue;
    }
    if (html[open + 1] === "!" || html[open + 1] === "?") {
      const end = html.indexOf(">", open);
      index = end < 0 ? html.length : end + 1;
      continue;
    }
    TAG_NAME.lastIndex = open;
    const tag = TAG_NAME.exec(html);
    if (!tag) {
      parts.push("<");
      index = open + 1;
      continue;
    }
    const name = tag[2]!.toLowerCase();
    index = tagEnd(html, open + tag[0].length);
    if (!tag[1] && DROPPED.has(name) && (RAW_TEXT.has(name) || !isSelfClosing(html, index))) {
      index = elementEnd(html, name, index);
    } else if (name === "td" || name === "th") parts.push(" ");
    else if (name === "p" || /^h[1-6]$/.test(name)) parts.push(PARAGRAPH);
    else if (BLOCKS.has(name)) parts.push(LINE);
  }
  const text = parts.join("")
    .replace(/ {2,}/g, " ")
    // Adjacent breaks merge: a paragraph among them makes an empty line, else one line break.
    .replace(
      /[ \ue000\ue001]*[\ue000\ue001][ \ue000\ue001]*/g,
      (run) => run.includes(PARAGRAPH) ? "\n\n" : "\n",
    );
  return { title: titleOf(html), text: collapse(decodeEntities(text)) };
}

// ---------------------------------------------------------------- the hop

/** Reads the body up to `maxBytes`; the rest is cancelled. */
async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<{ bytes: Uint8Array; cut: boolean }> {
  if (!body) return { bytes: new Uint8Array(0), cut: false };
  const chunks: Uint8Array[] = [];
  let total = 0;
  let cut = false;
  const reader = body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = maxBytes - total;
    if (value.length > room) {
      chunks.push(value.subarray(0, room));
      total = maxBytes;
      cut = true;
      break;
    }
    chunks.push(value);
    total += value.length;
  }
  if (cut) await reader.cancel().catch(() => {});
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return { bytes, cut };
}

/** Resolves the host and refuses it when any address is blocked and not allowed. */
async function checkAddresses(url: URL, args: HopArgs): Promise<void> {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  let addresses: string[];
  if (args.literal) addresses = [host];
  else {
    const { lookup } = await import("node:dns/promises");
    try {
      addresses = (await lookup(host, { all: true })).map((entry) => entry.address);
    } catch (error) {
      const code = (error as { code?: string }).code ?? "";
      throw fail(
        "TOOLS_NET_DNS_FAILED",
        `Cannot resolve ${host}: ${code === "ENOTFOUND" ? "no such name" : String(error)}`,
      );
    }
  }
  if (!args.allowAnyAddress) {
    for (const address of addresses) {
      const range = blockedRange(address, args.allow);
      if (range) {
        throw fail(
          "TOOLS_NET_BLOCKED_ADDRESS",
          `${host} ${
            args.literal ? "is" : `resolves to ${address}, which is`
          } in the blocked range ${range}; list it in tools.http.allowPrivate to allow it`,
        );
      }
    }
  }
  if (!args.ipv6 && !addresses.some((address) => !address.includes(":"))) {
    throw fail(
      "TOOLS_NET_IPV6_DISABLED",
      `${host} has only IPv6 addresses, and IPv6 destinations are off (tools.http.ipv6)`,
    );
  }
}

/** Fetches one hop of `http_fetch`; see {@link HopArgs}. */
export async function run(args: HopArgs, _ctx: WorkerContext): Promise<HopResult> {
  const url = new URL(args.url);
  await checkAddresses(url, args);
  // Binding IPv4 makes IPv6 destinations unreachable: --deny-net cannot hold IPv6 ranges.
  const client = args.ipv6 ? undefined : Deno.createHttpClient({ localAddress: "0.0.0.0" });
  const signal = AbortSignal.timeout(args.timeoutMs);
  try {
    let response: Response;
    try {
      response = await fetch(url, {
        redirect: "manual",
        signal,
        ...(client ? { client } : {}),
        headers: {
          "User-Agent": args.userAgent,
          Accept:
            "text/html,application/xhtml+xml,application/xml;q=0.9,application/json;q=0.9,text/plain;q=0.8,*/*;q=0.5",
        },
      });
    } catch (error) {
      throw fetchError(error, url);
    }
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location !== null) {
      await response.body?.cancel().catch(() => {});
      let target: string;
      try {
        target = new URL(location, url).href;
      } catch {
        throw fail("TOOLS_NET_URL_INVALID", `The redirect target "${location}" is not a URL`);
      }
      return { redirect: target, status: response.status };
    }
    let read: { bytes: Uint8Array; cut: boolean };
    try {
      read = await readCapped(response.body, args.maxBytes);
    } catch (error) {
      throw fetchError(error, url);
    }
    return describeBody(response, read, args);
  } finally {
    client?.close();
  }
}

function fetchError(error: unknown, url: URL): Error {
  const name = (error as { name?: string }).name;
  if (name === "TimeoutError" || name === "AbortError") {
    return fail("TOOLS_NET_TIMEOUT", `${url.host} did not answer in time`);
  }
  const cause = (error as { cause?: unknown }).cause;
  const detail = String((cause as { message?: string })?.message ?? (error as Error).message);
  if (/Requires net access|NotCapable/.test(detail)) {
    return fail(
      "TOOLS_NET_BLOCKED_ADDRESS",
      `The sandbox refused the connection to ${url.host}: its address is not allowed`,
    );
  }
  return fail("TOOLS_NET_FETCH_FAILED", `Cannot fetch ${url.href}: ${detail}`);
}

function describeBody(
  response: Response,
  read: { bytes: Uint8Array; cut: boolean },
  args: HopArgs,
): HopResult {
  const contentType = response.headers.get("content-type");
  const base = { status: response.status, contentType, bytes: read.bytes.length };
  const effective = contentType ?? sniff(read.bytes);
  if (!isTextType(effective)) {
    return {
      ...base,
      title: null,
      content: null,
      truncated: read.cut,
      note: `The body is ${contentType ?? "of unknown type"} (${read.bytes.length} bytes${
        read.cut ? ", cut" : ""
      }), not text, so its content is not shown`,
    };
  }
  const text = decodeText(read.bytes, effective);
  let title: string | null = null;
  let content = text;
  if (isHtmlType(effective)) {
    const extracted = extractHtml(text);
    title = extracted.title;
    if (args.extractText) content = extracted.text;
  }
  const cut = content.length > args.maxChars;
  if (cut) {
    content = content.slice(0, args.maxChars);
    // Never end on half a surrogate pair.
    if (/[\ud800-\udbff]$/.test(content)) content = content.slice(0, -1);
  }
  return { ...base, title, content, truncated: read.cut || cut };
}
