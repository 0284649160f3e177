/**
 * `http_fetch` (spec/tools.md §2, §7): fetches one URL and returns its text
 * (HTML reduced to readable text). Every hop — the first URL and each
 * redirect target — is checked on the host ({@link checkTarget}), then runs
 * as its own sandbox call granted only that host, which resolves the name,
 * checks the addresses again and fetches with `redirect: "manual"`.
 *
 * @module
 */
import { defineTool, type Grants, ToolError, type ToolHostContext } from "@synth/kernel";
import { z } from "zod";
import { checkTarget, denyNetFor, MAX_URL_CHARS, parseAllowList } from "./policy.ts";
import type { HopArgs, HopResult } from "./worker.ts";

/** The arguments, validated. */
export interface HttpFetchArgs {
  url: string;
  extractText: boolean;
  maxChars: number;
}

/** What the model gets back. */
export interface HttpFetchData {
  /** The URL asked for. */
  url: string;
  /** The URL that answered, after redirects. */
  finalUrl: string;
  status: number;
  contentType: string | null;
  /** The HTML title, else null. */
  title: string | null;
  /** Decoded text (extracted for HTML), or null for binary bodies. */
  content: string | null;
  /** Body bytes read (at most `tools.http.maxBytes`). */
  bytes: number;
  /** The body was cut at the byte cap or the content at `maxChars`. */
  truncated: boolean;
  /** Why `content` is null. */
  note?: string;
}

/** Time a hop's child may take beyond the request's own limit (process start). */
const START_MARGIN_MS = 3_000;

/** Runs the hops: check, sandbox call, and again for each redirect. */
async function fetchUrl(
  args: HttpFetchArgs,
  ctx: ToolHostContext,
  version: string,
): Promise<HttpFetchData> {
  const http = ctx.config.http;
  const allowList = parseAllowList(http.allowPrivate);
  let current = args.url;
  let from: URL | undefined;
  for (let redirects = 0;; redirects++) {
    const target = checkTarget(current, http, { allowList, ...(from ? { from } : {}) });
    const hop: HopArgs = {
      url: target.url.href,
      literal: target.literal,
      allow: target.allow,
      allowAnyAddress: target.allowAnyAddress,
      ipv6: http.ipv6,
      maxBytes: http.maxBytes,
      timeoutMs: http.timeoutMs,
      userAgent: `SynthMind/${version}`,
      extractText: args.extractText,
      maxChars: args.maxChars,
    };
    // `denyNet` becomes the child's --deny-net: Deno checks it against the address connected to.
    const grants: Grants = {
      net: [target.grant],
      denyNet: denyNetFor(target),
    };
    const result = await ctx.sandbox(hop, grants, {
      timeoutMs: http.timeoutMs + START_MARGIN_MS,
    }) as HopResult;
    if ("redirect" in result) {
      if (redirects >= http.maxRedirects) {
        throw new ToolError(
          "TOOLS_TOO_MANY_REDIRECTS",
          `${args.url} redirected more than ${http.maxRedirects} times (tools.http.maxRedirects)`,
        );
      }
      from = target.url;
      current = result.redirect;
      continue;
    }
    return {
      url: args.url,
      finalUrl: target.url.href,
      status: result.status,
      contentType: result.contentType,
      title: result.title,
      content: result.content,
      bytes: result.bytes,
      truncated: result.truncated,
      ...(result.note ? { note: result.note } : {}),
    };
  }
}

/** The `http_fetch` tool plugin. */
export const httpFetchTool = defineTool({
  name: "http_fetch",
  description:
    "Fetch a public web page or file over http(s) and return its text (HTML is reduced to readable text with its title). Redirects are followed; private and local addresses are refused; a 4xx/5xx answer is returned with its status.",
  args: z.strictObject({
    url: z.string().min(1).max(MAX_URL_CHARS).describe(
      "The absolute http:// or https:// URL to fetch",
    ),
    extractText: z.boolean().default(true).describe(
      "Reduce HTML to readable text (true) or return the HTML source (false)",
    ),
    maxChars: z.number().int().min(1).max(50_000).default(10_000).describe(
      "Characters of content returned at most (default 10,000; at most 50,000)",
    ),
  }),
  risk: "network",
  limits: { timeoutMs: 15_000, maxOutputChars: 55_000 },
  grants: { net: ["${host}"] },
  worker: new URL("./worker.ts", import.meta.url),
  run: (args, ctx): Promise<HttpFetchData> => fetchUrl(args, ctx, httpFetchTool.manifest.version),
});
