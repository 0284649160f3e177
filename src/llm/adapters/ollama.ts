import { Ollama } from "ollama/browser";
import type { Clock } from "../../clock.ts";
import type { Logger } from "../../telemetry/logger.ts";
import {
  connectionFailure,
  isContextTooLong,
  probeFailure,
  ProviderError,
  refusedCapability,
  retryAfterMs,
} from "../provider_error.ts";
import { type ResolvedProvider, TEMPERATURE_MAX } from "../providers.ts";
import type { ChatMessage, StopReason } from "../types.ts";
import { normalise, parseArguments, reportingFetch } from "./shared.ts";
import type { AdapterEvent, AdapterRequest, ProviderAdapter } from "./types.ts";

/** Ollama's message list: tool results carry the tool's name. */
export function toOllamaMessages(
  system: string | undefined,
  messages: readonly ChatMessage[],
): Array<Record<string, unknown>> {
  return [
    ...(system ? [{ role: "system", content: system }] : []),
    ...messages.map((message) =>
      message.role === "user"
        ? { role: "user", content: message.content }
        : message.role === "assistant"
        ? {
          role: "assistant",
          content: message.content,
          ...(message.toolCalls?.length
            ? {
              tool_calls: message.toolCalls.map((call) => ({
                function: { name: call.name, arguments: call.args },
              })),
            }
            : {}),
        }
        : { role: "tool", tool_name: message.name, content: message.content }
    ),
  ];
}

function toProviderError(
  error: unknown,
  response: Response | undefined,
  now: number,
): ProviderError {
  if (error instanceof ProviderError) return error;
  if (error instanceof Error && error.name === "AbortError") {
    return new ProviderError("abort", "aborted", { cause: error });
  }
  const status = (error as { status_code?: number })?.status_code;
  if (typeof status === "number") {
    const message = (error as Error).message;
    const options: ConstructorParameters<typeof ProviderError>[2] = {
      status,
      cause: error,
      contextTooLong: isContextTooLong(status, message),
    };
    const refused = status === 400 || status === 500 ? refusedCapability(message) : undefined;
    if (refused) options.refused = refused;
    const after = retryAfterMs(response?.headers, now);
    if (after !== undefined) options.retryAfterMs = after;
    return new ProviderError("http", `ollama ${status}: ${message}`, options);
  }
  if (error instanceof SyntaxError) {
    return new ProviderError("protocol", `malformed stream: ${error.message}`, { cause: error });
  }
  return connectionFailure(error, "connection failed");
}

/**
 * A streamed reply whose NDJSON lines are checked before the SDK reads them.
 * `ollama@0.6.4` skips a line that is not JSON and `console.warn`s its raw
 * text (past our redacting logger), so a bad line followed by good ones
 * would lose text without an error. Here a bad line ends the stream with a
 * protocol error instead; blank lines, which carry nothing, are dropped.
 */
export function checkedNdjson(response: Response): Response {
  const type = response.headers.get("content-type") ?? "";
  if (!response.ok || !response.body || !type.includes("ndjson")) return response;
  const source = response.body.getReader();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buffer = "";
  let lineNumber = 0;
  let failure: ProviderError | undefined;
  /** Whether the last {@link goodLines} left a line out (blank or bad). */
  let leftOut = false;
  /** Whether the bytes read so far ended with a newline (the decoder holds nothing back). */
  let cleanEdge = true;
  /** The JSON lines of `text` up to the first bad one (which sets `failure`). */
  const goodLines = (text: string): string[] => {
    const good: string[] = [];
    leftOut = false;
    for (const line of text.split("\n")) {
      lineNumber++;
      if (line.trim() === "") {
        leftOut = true;
        continue;
      }
      try {
        JSON.parse(line);
      } catch {
        // The line's text is not repeated: it is provider output, not for logs.
        failure = new ProviderError(
          "protocol",
          `malformed stream: NDJSON line ${lineNumber} is not JSON (${line.length} characters)`,
        );
        leftOut = true;
        break;
      }
      good.push(line);
    }
    return good;
  };
  // Pulled on demand, so the lines before a bad one reach the reader before the error does.
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (failure) {
          controller.error(failure);
          await source.cancel().catch(() => {});
          return;
        }
        const { done, value } = await source.read();
        let lines: string[];
        if (done) {
          buffer += decoder.decode();
          lines = goodLines(buffer);
          buffer = "";
        } else {
          const fresh = buffer === "" && cleanEdge;
          cleanEdge = value.at(-1) === 0x0a;
          buffer += decoder.decode(value, { stream: true });
          const end = buffer.lastIndexOf("\n");
          if (end < 0) continue;
          lines = goodLines(buffer.slice(0, end));
          buffer = buffer.slice(end + 1);
          if (fresh && buffer === "" && !leftOut) {
            // The usual case: whole lines, all JSON; the bytes go on as they came.
            controller.enqueue(value);
            return;
          }
        }
        if (lines.length > 0) {
          controller.enqueue(encoder.encode(lines.join("\n") + "\n"));
          if (done && !failure) controller.close();
          return; // a failure is reported at the next pull, after these lines were read
        }
        if (failure) continue;
        if (done) return controller.close();
      }
    },
    cancel: (reason) => source.cancel(reason),
  });
  return new Response(body, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/** The Ollama adapter (`ollama/browser`: fetch only, no file access). */
export function createOllamaAdapter(
  provider: ResolvedProvider,
  options: { clock: Clock; log: Logger },
): ProviderAdapter {
  const host = provider.baseUrl ?? "http://127.0.0.1:11434";
  /** A client whose requests carry the attempt's signal and headers, reporting responses. */
  const clientFor = (
    signal: AbortSignal,
    headers: Record<string, string>,
    onResponse?: (response: Response) => void,
  ) => {
    const seen: { response?: Response } = {};
    const reporting = reportingFetch((response) => {
      seen.response = response;
      onResponse?.(response);
    }, signal);
    const client = new Ollama({
      host,
      headers,
      fetch: async (input, init) => checkedNdjson(await reporting(input, init)),
    });
    return { client, seen };
  };
  let callCount = 0;
  return {
    provider,
    async *stream(
      request: AdapterRequest,
      signal: AbortSignal,
      onResponse?: (response: Response) => void,
    ): AsyncIterable<AdapterEvent> {
      const modelOptions: Record<string, unknown> = { num_predict: request.maxTokens };
      if (request.temperature !== undefined && request.capabilities.temperature === "supported") {
        modelOptions.temperature = Math.min(
          TEMPERATURE_MAX.ollama,
          Math.max(0, request.temperature),
        );
      }
      if (request.stop?.length) modelOptions.stop = request.stop;
      const body: Record<string, unknown> = {
        model: request.model,
        messages: toOllamaMessages(request.system, request.messages),
        stream: true,
        options: modelOptions,
      };
      if (request.tools?.length && request.toolChoice !== "none") {
        body.tools = request.tools.map((tool) => ({
          type: "function",
          function: { name: tool.name, description: tool.description, parameters: tool.parameters },
        }));
      }
      let sawToolCall = false;
      let sawDone = false;
      const { client, seen } = clientFor(signal, request.headers, onResponse);
      try {
        // deno-lint-ignore no-explicit-any
        const stream = await client.chat(body as any) as unknown as AsyncIterable<
          Record<string, unknown>
        >;
        for await (const part of stream) {
          if (typeof part.error === "string") {
            throw new ProviderError("protocol", `ollama stream error: ${part.error}`);
          }
          const message = (part.message ?? {}) as {
            content?: string;
            tool_calls?: Array<
              { function: { name: string; arguments: Record<string, unknown> | string } }
            >;
          };
          if (message.content) yield { type: "text", delta: message.content };
          else if (!message.tool_calls?.length && part.done !== true) {
            yield { type: "keepalive" }; // thinking, or an empty chunk
          }
          for (const call of message.tool_calls ?? []) {
            sawToolCall = true;
            const args = typeof call.function.arguments === "string"
              ? parseArguments(call.function.arguments)
              : { args: call.function.arguments ?? {} };
            yield {
              type: "tool_call",
              call: { id: `call_${++callCount}`, name: call.function.name, ...args },
            };
          }
          if (part.done === true) {
            sawDone = true;
            if (typeof part.prompt_eval_count === "number" || typeof part.eval_count === "number") {
              yield {
                type: "usage",
                inputTokens: (part.prompt_eval_count as number | undefined) ?? 0,
                outputTokens: (part.eval_count as number | undefined) ?? 0,
              };
            }
            const reason = String(part.done_reason ?? "stop");
            const mapped: StopReason = reason === "length"
              ? "max_tokens"
              : reason === "stop"
              ? (sawToolCall ? "tool_calls" : "end")
              : "other";
            yield { type: "stop", reason: mapped, providerReason: reason };
          }
        }
      } catch (error) {
        throw toProviderError(error, seen.response, options.clock.now());
      }
      if (!sawDone) throw new ProviderError("protocol", "the stream ended before done");
    },

    async embed(texts, embedOptions) {
      const vectors: Float32Array[] = [];
      const { client, seen } = clientFor(embedOptions.signal, embedOptions.headers);
      for (let i = 0; i < texts.length; i += 32) {
        try {
          const response = await client.embed({
            model: embedOptions.model,
            input: texts.slice(i, i + 32) as string[],
          });
          for (const embedding of response.embeddings) vectors.push(normalise(embedding));
        } catch (error) {
          throw toProviderError(error, seen.response, options.clock.now());
        }
      }
      return vectors;
    },

    async probe(models, signal) {
      try {
        const list = await clientFor(signal, {}).client.list();
        const names = new Set(
          list.models.flatMap((model) => [model.name, model.name.replace(/:latest$/, "")]),
        );
        const missing = models.filter((model) =>
          !names.has(model) && !names.has(`${model}:latest`)
        );
        if (missing.length > 0) {
          return {
            ok: false,
            state: "model_missing",
            reason: `model missing: run \`ollama pull ${missing[0]}\``,
            missing,
          };
        }
        return { ok: true, state: "ok" };
      } catch (error) {
        return probeFailure(
          toProviderError(error, undefined, options.clock.now()),
          `connection refused at ${new URL(host).host}`,
        );
      }
    },
  };
}
