/**
 * Where a `web_search` request goes (spec/tools.md §7): the provider's
 * request URL, checked like an `http_fetch` target — http(s) only, no
 * credentials, no local names or blocked address literals unless
 * `tools.http.allowPrivate` lists them (a SearXNG base URL on a private
 * network usually needs that). The sandbox checks the resolved addresses.
 *
 * @module
 */
import { ToolError, type ToolsConfig } from "@synth/kernel";
import { blockedRange, parseRange, type SearchProvider } from "./worker.ts";

/** A checked search request. */
export interface SearchTarget {
  provider: SearchProvider;
  url: URL;
  literal: boolean;
  /** The `--allow-net` entry: the host name (the lookup needs it without a port) or address. */
  grant: string;
  /** CIDRs the sandbox lets through although blocked. */
  allow: string[];
  allowAnyAddress: boolean;
}

const DUCKDUCKGO = "https://api.duckduckgo.com/";
const BRAVE = "https://api.search.brave.com/res/v1/web/search";

/** The provider's request URL for a query. */
export function requestUrl(config: ToolsConfig["web_search"], query: string, count: number): URL {
  let url: URL;
  if (config.provider === "duckduckgo") {
    url = new URL(DUCKDUCKGO);
    url.search = new URLSearchParams({
      q: query,
      format: "json",
      no_html: "1",
      skip_disambig: "1",
    }).toString();
  } else if (config.provider === "brave") {
    url = new URL(BRAVE);
    url.search = new URLSearchParams({ q: query, count: String(count) }).toString();
  } else {
    if (!config.baseUrl) {
      throw new ToolError(
        "TOOLS_SEARCH_NOT_CONFIGURED",
        "web_search uses SearXNG but tools.web_search.baseUrl is not set",
      );
    }
    const base = config.baseUrl.endsWith("/") ? config.baseUrl : `${config.baseUrl}/`;
    url = new URL("search", base);
    url.search = new URLSearchParams({ q: query, format: "json" }).toString();
  }
  return url;
}

function isLocalName(name: string): boolean {
  return name === "localhost" || /\.(localhost|local|internal)$/.test(name);
}

/**
 * Checks the request URL against the address rules and `allowPrivate`.
 *
 * @throws {ToolError} `TOOLS_NET_BLOCKED_SCHEME`, `TOOLS_NET_CREDENTIALS_IN_URL`,
 * `TOOLS_NET_BLOCKED_NAME`, `TOOLS_NET_BLOCKED_ADDRESS`, `TOOLS_NET_CONFIG_INVALID`.
 */
export function checkSearchTarget(
  provider: SearchProvider,
  url: URL,
  http: ToolsConfig["http"],
): SearchTarget {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ToolError(
      "TOOLS_NET_BLOCKED_SCHEME",
      `The search URL must be http or https, not ${url.protocol.slice(0, -1)}`,
    );
  }
  if (url.username || url.password) {
    throw new ToolError(
      "TOOLS_NET_CREDENTIALS_IN_URL",
      "The search base URL holds a user name or password; remove them",
    );
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  const name = host.replace(/\.+$/, "");
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  const literal = parseRange(host) !== null;
  const allow: string[] = [];
  let allowAnyAddress = false;
  for (const raw of http.allowPrivate) {
    const entry = raw.trim().toLowerCase();
    if (parseRange(entry)) {
      allow.push(entry);
      continue;
    }
    const hostPort = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(entry);
    if (hostPort) {
      if (Number(hostPort[2]) !== port) continue;
      if (parseRange(hostPort[1]!)) allow.push(hostPort[1]!);
      else if (hostPort[1]!.replace(/\.+$/, "") === name) allowAnyAddress = true;
      continue;
    }
    if (!/^(\*\.)?[a-z0-9_.-]+$/.test(entry)) {
      throw new ToolError(
        "TOOLS_NET_CONFIG_INVALID",
        `tools.http.allowPrivate entry "${raw}" is not a CIDR range, an address, a host name or host:port`,
      );
    }
    const pattern = entry.replace(/\.+$/, "");
    if (pattern.startsWith("*.") ? name.endsWith(pattern.slice(1)) : name === pattern) {
      allowAnyAddress = true;
    }
  }
  if (literal) {
    const range = blockedRange(host, allow);
    if (range) {
      throw new ToolError(
        "TOOLS_NET_BLOCKED_ADDRESS",
        `The search host ${host} is in the blocked range ${range}; list it in tools.http.allowPrivate to allow it`,
      );
    }
  } else if (isLocalName(name) && !allowAnyAddress) {
    throw new ToolError(
      "TOOLS_NET_BLOCKED_NAME",
      `The search host ${host} is a local name; list it in tools.http.allowPrivate to allow it`,
    );
  }
  return {
    provider,
    url,
    literal,
    grant: literal && host.includes(":") ? `[${host}]` : host,
    allow,
    allowAnyAddress: literal ? false : allowAnyAddress,
  };
}
