/**
 * "Try it" of the API reference: the request an operation's form describes
 * (pure), and reading an answer's body within a size limit.
 *
 * @module
 */
import { prettyJson } from "../lib/format.ts";
import type { ApiOperation } from "./openapi_model.ts";

/** What the form holds: values by `<in>:<name>`, the body text, the token. */
export interface TryInput {
  values: Readonly<Record<string, string>>;
  body: string;
  token: string;
}

/** A request ready for `fetch`, or the field that stops it. */
export type TryRequest =
  | {
    ok: true;
    method: string;
    /** Same-origin path with the query. */
    url: string;
    headers: Record<string, string>;
    body: string | null;
  }
  | { ok: false; field: string; message: string };

/** The form field key of a parameter. */
export function fieldKey(param: { in: string; name: string }): string {
  return `${param.in}:${param.name}`;
}

/** A path segment: percent-encoded, and `.`/`..` too, which URL parsing would resolve away. */
export function pathSegment(value: string): string {
  return /^\.{1,2}$/.test(value) ? value.replaceAll(".", "%2E") : encodeURIComponent(value);
}

/**
 * Builds the request: path parameters encoded into the path (each one
 * required), query parameters that have a value, header parameters, the
 * JSON body (checked to parse) and `Authorization: Bearer` with a token.
 */
export function buildTryRequest(operation: ApiOperation, input: TryInput): TryRequest {
  const headers: Record<string, string> = { accept: "application/json" };
  let path = operation.path;
  const query = new URLSearchParams();
  for (const param of operation.parameters) {
    const key = fieldKey(param);
    const value = (input.values[key] ?? "").trim();
    if (param.in === "path") {
      if (!value) {
        return { ok: false, field: key, message: `Fill in the path parameter ${param.name}` };
      }
      path = path.replaceAll(`{${param.name}}`, pathSegment(value));
    } else if (!value) {
      if (param.required) {
        return {
          ok: false,
          field: key,
          message: `Fill in the ${param.in} parameter ${param.name}`,
        };
      }
    } else if (param.in === "query") query.append(param.name, value);
    else if (param.in === "header") headers[param.name.toLowerCase()] = value;
  }
  let body: string | null = null;
  if (operation.body) {
    const text = input.body.trim();
    if (text) {
      try {
        JSON.parse(text);
      } catch (error) {
        return {
          ok: false,
          field: "body",
          message: `The body is not JSON: ${
            error instanceof Error ? error.message : String(error)
          }`,
        };
      }
      body = text;
      headers["content-type"] = operation.body.mediaType.includes("json")
        ? operation.body.mediaType
        : "application/json";
    } else if (operation.body.required) {
      return { ok: false, field: "body", message: "The body is required (JSON)" };
    }
  }
  const token = input.token.trim();
  if (token) headers.authorization = `Bearer ${token}`;
  const search = query.toString();
  return {
    ok: true,
    method: operation.method,
    url: search ? `${path}?${search}` : path,
    headers,
    body,
  };
}

/** An answer as the panel shows it. */
export interface TryResult {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  /** Pretty JSON when the answer is JSON, else the text. */
  body: string;
  /** The body was cut at the limit (or the reading was stopped). */
  truncated: boolean;
  ms: number;
}

/** The most of a body the panel reads (a stream is cut there). */
export const MAX_BODY_BYTES = 256 * 1024;

/**
 * Reads `response` for the panel: at most `limit` bytes of its body (an
 * event stream is read until it ends, the limit, or `signal` aborts, and
 * what arrived is kept).
 */
export async function readAnswer(
  response: Response,
  options: { started: number; now: () => number; signal?: AbortSignal; limit?: number },
): Promise<TryResult> {
  const limit = options.limit ?? MAX_BODY_BYTES;
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  const reader = response.body?.getReader();
  if (reader) {
    const stop = () => void reader.cancel().catch(() => {});
    options.signal?.addEventListener("abort", stop, { once: true });
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        chunks.push(value);
        size += value.length;
        if (size >= limit) {
          truncated = true;
          await reader.cancel().catch(() => {});
          break;
        }
      }
    } catch {
      // Aborted mid-stream: keep what arrived.
      truncated = true;
    } finally {
      options.signal?.removeEventListener("abort", stop);
    }
    if (options.signal?.aborted) truncated = true;
  }
  const bytes = new Uint8Array(Math.min(size, limit));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, Math.min(chunk.length, bytes.length - offset));
    bytes.set(part, offset);
    offset += part.length;
  }
  const text = new TextDecoder().decode(bytes);
  const type = response.headers.get("content-type") ?? "";
  return {
    status: response.status,
    statusText: response.statusText,
    headers: [...response.headers.entries()].sort(([a], [b]) => a.localeCompare(b)),
    body: type.includes("json") && !truncated ? prettyJson(text) : text,
    truncated,
    ms: Math.round(options.now() - options.started),
  };
}
