/**
 * The sandboxed half of `web_search` (spec/tools.md §2, §7): one request to
 * the configured search provider. Like `http_fetch`'s hop it resolves the
 * provider's name itself, refuses blocked addresses (the ranges are copied
 * from `tool_http_fetch/worker.ts`: plugins share no code, and a worker
 * imports nothing), fetches without following redirects, and turns the
 * provider's JSON into `{ title, url, snippet, source }` results. The Brave
 * API key arrives only as a call secret.
 *
 * Sent as source into the sandbox: only `import type`, no other imports.
 *
 * @module
 */
import type { WorkerContext } from "@synth/kernel";

/** The providers. */
export type SearchProvider = "duckduckgo" | "searxng" | "brave";

/** What the host sends. */
export interface SearchArgs {
  provider: SearchProvider;
  /** The request URL the host built and checked. */
  url: string;
  query: string;
  maxResults: number;
  /** Whether the URL's host is an IP literal. */
  literal: boolean;
  /** CIDRs reachable although blocked (`tools.http.allowPrivate`). */
  allow: string[];
  /** An allowPrivate name covers the host. */
  allowAnyAddress: boolean;
  ipv6: boolean;
  maxBytes: number;
  timeoutMs: number;
  userAgent: string;
}

/** One search result. */
export interface SearchResult {
  title: string;
  url: string;
  snippet: string;
  source: string;
}

/** What the model gets back. */
export interface SearchData {
  provider: SearchProvider;
  /** `web` for result lists, `instant_answers` for DuckDuckGo's Instant Answer API. */
  kind: "web" | "instant_answers";
  results: SearchResult[];
  /** Results the provider reported (at least those returned). */
  totalFound: number;
}

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

/** Parses `addr/bits` (a bare address is a single-address range), or null. */
export function parseRange(text: string): { bytes: number[]; bits: number } | null {
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

// ---------------------------------------------------------------- results

const MAX_TITLE = 300;
const MAX_SNIPPET = 500;
const MAX_URL = 2_048;

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** Plain text of a provider's snippet: tags removed, common entities decoded, spaces collapsed. */
export function plain(value: unknown, max = MAX_SNIPPET): string {
  // Cut first: a provider's field can be huge, and the tag pattern rescans after each "<".
  const out = text(value).slice(0, max * 4)
    .replace(/<[^>]*>/g, "")
    .replace(
      /&(amp|lt|gt|quot|#39|#x27|apos|nbsp);/g,
      (_all, name: string) =>
        ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", "#x27": "'", apos: "'", nbsp: " " })[
          name
        ] ?? "",
    )
    .replace(/\s+/g, " ")
    .trim();
  return out.length > max ? `${out.slice(0, max - 1)}…` : out;
}

function result(title: unknown, url: unknown, snippet: unknown, source: unknown): SearchResult {
  return {
    title: plain(title, MAX_TITLE),
    url: text(url).slice(0, MAX_URL),
    snippet: plain(snippet),
    source: plain(source, 100),
  };
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/**
 * Results of DuckDuckGo's Instant Answer API: the answer, the abstract, the
 * definition, direct results and related topics (groups flattened), in
 * that order. Often empty: it is not a web search.
 */
export function parseDuckDuckGo(body: unknown, query: string, max: number): SearchData {
  const data = record(body);
  const searchPage = `https://duckduckgo.com/?q=${encodeURIComponent(query)}`;
  const heading = text(data.Heading) || query;
  const found: SearchResult[] = [];
  if (text(data.Answer)) found.push(result(heading, searchPage, data.Answer, "DuckDuckGo"));
  if (text(data.AbstractText)) {
    found.push(
      result(heading, text(data.AbstractURL) || searchPage, data.AbstractText, data.AbstractSource),
    );
  }
  if (text(data.Definition)) {
    found.push(
      result(
        heading,
        text(data.DefinitionURL) || searchPage,
        data.Definition,
        data.DefinitionSource,
      ),
    );
  }
  const topic = (entry: unknown) => {
    const item = record(entry);
    const description = text(item.Text);
    if (!description || !text(item.FirstURL)) return;
    const title = description.split(" - ")[0]!;
    found.push(result(title, item.FirstURL, description, "DuckDuckGo"));
  };
  for (const entry of list(data.Results)) topic(entry);
  for (const entry of list(data.RelatedTopics)) {
    const group = record(entry);
    if (Array.isArray(group.Topics)) group.Topics.forEach(topic);
    else topic(entry);
  }
  return {
    provider: "duckduckgo",
    kind: "instant_answers",
    results: found.slice(0, max),
    totalFound: found.length,
  };
}

/** Results of a SearXNG instance's JSON API (`format=json`). */
export function parseSearxng(body: unknown, max: number): SearchData {
  const data = record(body);
  const found = list(data.results).map(record).filter((item) => text(item.url)).map((item) =>
    result(
      item.title,
      item.url,
      item.content,
      text(item.engine) || list(item.engines).filter((x) => typeof x === "string").join(", "),
    )
  );
  const reported = typeof data.number_of_results === "number" ? data.number_of_results : 0;
  return {
    provider: "searxng",
    kind: "web",
    results: found.slice(0, max),
    totalFound: Math.max(Math.round(reported), found.length),
  };
}

/** Results of the Brave Search web API. */
export function parseBrave(body: unknown, max: number): SearchData {
  const web = record(record(body).web);
  const found = list(web.results).map(record).filter((item) => text(item.url)).map((item) =>
    result(
      item.title,
      item.url,
      item.description,
      text(record(item.profile).name) || text(record(item.meta_url).hostname),
    )
  );
  return { provider: "brave", kind: "web", results: found.slice(0, max), totalFound: found.length };
}

/** The request's headers; Brave's carries the key from the call's secrets. */
export function requestHeaders(
  args: SearchArgs,
  secrets: Record<string, string>,
): Record<string, string> {
  const headers: Record<string, string> = {
    "User-Agent": args.userAgent,
    Accept: "application/json",
  };
  if (args.provider === "brave") {
    const key = secrets.apiKey;
    if (!key) throw fail("TOOLS_SEARCH_NO_API_KEY", "The Brave Search API key is missing");
    headers["X-Subscription-Token"] = key;
  }
  return headers;
}

// ---------------------------------------------------------------- the request

async function checkAddresses(url: URL, args: SearchArgs): Promise<void> {
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
        `Cannot resolve the search host ${host}: ${code === "ENOTFOUND" ? "no such name" : error}`,
      );
    }
  }
  if (!args.allowAnyAddress) {
    for (const address of addresses) {
      const range = blockedRange(address, args.allow);
      if (range) {
        throw fail(
          "TOOLS_NET_BLOCKED_ADDRESS",
          `The search host ${host} resolves to ${address}, in the blocked range ${range}; list it in tools.http.allowPrivate to allow it`,
        );
      }
    }
  }
  if (!args.ipv6 && !addresses.some((address) => !address.includes(":"))) {
    throw fail(
      "TOOLS_NET_IPV6_DISABLED",
      `The search host ${host} has only IPv6 addresses, and IPv6 destinations are off (tools.http.ipv6)`,
    );
  }
}

async function readJson(response: Response, maxBytes: number): Promise<unknown> {
  const reader = response.body?.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw fail("TOOLS_SEARCH_BAD_RESPONSE", `The search answer is larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw fail("TOOLS_SEARCH_BAD_RESPONSE", "The search provider did not answer with JSON");
  }
}

/** Runs one search; see {@link SearchArgs}. */
export async function run(args: SearchArgs, ctx: WorkerContext): Promise<SearchData> {
  const url = new URL(args.url);
  const headers = requestHeaders(args, ctx.secrets);
  await checkAddresses(url, args);
  const client = args.ipv6 ? undefined : Deno.createHttpClient({ localAddress: "0.0.0.0" });
  try {
    let response: Response;
    let body: unknown;
    try {
      response = await fetch(url, {
        redirect: "manual",
        signal: AbortSignal.timeout(args.timeoutMs),
        headers,
        ...(client ? { client } : {}),
      });
      if (!response.ok) {
        await response.body?.cancel().catch(() => {});
        throw providerError(args.provider, response);
      }
      body = await readJson(response, args.maxBytes);
    } catch (error) {
      if (typeof (error as { code?: unknown }).code === "string") throw error;
      const name = (error as { name?: string }).name;
      if (name === "TimeoutError" || name === "AbortError") {
        throw fail("TOOLS_NET_TIMEOUT", `The search provider (${url.host}) did not answer in time`);
      }
      const cause = (error as { cause?: { message?: string } }).cause;
      throw fail(
        "TOOLS_SEARCH_FAILED",
        `The search request to ${url.host} failed: ${cause?.message ?? (error as Error).message}`,
      );
    }
    if (args.provider === "duckduckgo") return parseDuckDuckGo(body, args.query, args.maxResults);
    if (args.provider === "searxng") return parseSearxng(body, args.maxResults);
    return parseBrave(body, args.maxResults);
  } finally {
    client?.close();
  }
}

function providerError(provider: SearchProvider, response: Response): Error {
  const status = response.status;
  if (status >= 300 && status < 400) {
    return fail(
      "TOOLS_SEARCH_FAILED",
      `The ${provider} endpoint redirected to ${
        response.headers.get("location") ?? "elsewhere"
      }; configure the final address`,
    );
  }
  if (provider === "brave" && (status === 401 || status === 403)) {
    return fail("TOOLS_SEARCH_AUTH", `Brave Search refused the API key (HTTP ${status})`);
  }
  if (status === 429) {
    return fail("TOOLS_SEARCH_RATE_LIMITED", `The ${provider} search is rate-limited (HTTP 429)`);
  }
  if (provider === "searxng" && status === 403) {
    return fail(
      "TOOLS_SEARCH_FAILED",
      "SearXNG refused the request (HTTP 403): enable the json format under search.formats in its settings.yml",
    );
  }
  return fail("TOOLS_SEARCH_FAILED", `The ${provider} search answered HTTP ${status}`);
}
