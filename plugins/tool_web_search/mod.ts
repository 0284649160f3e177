/**
 * `web_search` (spec/tools.md §2, §7): asks the configured provider —
 * DuckDuckGo's keyless Instant Answer API (default), a SearXNG instance, or
 * the Brave Search API — and returns `{ title, url, snippet, source }`
 * results. The request runs in the sandbox granted only the provider's
 * host; Brave's key travels only as a call secret.
 *
 * @module
 */
import { defineTool, ToolError, type ToolHostContext } from "@synth/kernel";
import { z } from "zod";
import { checkSearchTarget, requestUrl } from "./target.ts";
import type { SearchArgs, SearchData } from "./worker.ts";

/** Time the child may take beyond the request's own limit (process start). */
const START_MARGIN_MS = 3_000;
/** The request's own time limit. */
const REQUEST_TIMEOUT_MS = 15_000;
/** A provider's answer is refused past this size. */
const MAX_ANSWER_BYTES = 2 * 1024 * 1024;

/** The Brave key from the variable `tools.web_search.apiKeyEnv` names. */
function braveKey(ctx: ToolHostContext): string {
  const name = ctx.config.web_search.apiKeyEnv;
  if (!name) {
    throw new ToolError(
      "TOOLS_SEARCH_NO_API_KEY",
      "web_search uses Brave, which needs an API key: set tools.web_search.apiKeyEnv to the environment variable that holds it",
    );
  }
  const key = ctx.env(name);
  if (!key) {
    throw new ToolError(
      "TOOLS_SEARCH_NO_API_KEY",
      `web_search uses Brave, but the environment variable ${name} (tools.web_search.apiKeyEnv) is not set`,
    );
  }
  return key;
}

async function search(
  args: { query: string; maxResults?: number | undefined },
  ctx: ToolHostContext,
  version: string,
): Promise<SearchData> {
  const config = ctx.config.web_search;
  const maxResults = args.maxResults ?? config.maxResults;
  const secrets = config.provider === "brave" ? { apiKey: braveKey(ctx) } : undefined;
  const url = requestUrl(config, args.query, maxResults);
  const target = checkSearchTarget(config.provider, url, ctx.config.http);
  const request: SearchArgs = {
    provider: config.provider,
    url: target.url.href,
    query: args.query,
    maxResults,
    literal: target.literal,
    allow: target.allow,
    allowAnyAddress: target.allowAnyAddress,
    ipv6: ctx.config.http.ipv6,
    maxBytes: MAX_ANSWER_BYTES,
    timeoutMs: REQUEST_TIMEOUT_MS,
    userAgent: `SynthMind/${version}`,
  };
  return await ctx.sandbox(request, { net: [target.grant] }, {
    timeoutMs: REQUEST_TIMEOUT_MS + START_MARGIN_MS,
    ...(secrets ? { secrets } : {}),
  }) as SearchData;
}

/** The `web_search` tool plugin. */
export const webSearchTool = defineTool({
  name: "web_search",
  description:
    "Search the web and return result titles, URLs and snippets. With the default provider (DuckDuckGo Instant Answers) only well-known topics, definitions and facts are found, and it often finds nothing; then fetch a relevant site with http_fetch instead.",
  args: z.strictObject({
    query: z.string().trim().min(1).max(400).describe(
      "What to search for (at most 400 characters)",
    ),
    maxResults: z.number().int().min(1).max(10).optional().describe(
      "How many results to return, 1 to 10 (default 5, as configured)",
    ),
  }),
  risk: "network",
  limits: { timeoutMs: 15_000, maxOutputChars: 40_000 },
  grants: { net: ["${host}"] },
  worker: new URL("./worker.ts", import.meta.url),
  run: (args, ctx): Promise<SearchData> => search(args, ctx, webSearchTool.manifest.version),
});
