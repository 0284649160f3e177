import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from "openai";
import type { Clock } from "../../clock.ts";
import type { Logger } from "../../telemetry/logger.ts";
import { connectionFailure, httpFailure, probeFailure, ProviderError } from "../provider_error.ts";
import { type ResolvedProvider, TEMPERATURE_MAX } from "../providers.ts";
import type { ChatMessage, StopReason } from "../types.ts";
import { normalise, parseArguments, sdkLogger } from "./shared.ts";
import type { AdapterEvent, AdapterRequest, ProviderAdapter } from "./types.ts";

const STOP: Record<string, StopReason> = {
  stop: "end",
  length: "max_tokens",
  tool_calls: "tool_calls",
  function_call: "tool_calls",
  content_filter: "content_filter",
};

/** OpenAI's message list: system first, tool results linked by `tool_call_id`. */
export function toOpenAiMessages(
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
          content: message.content || null,
          ...(message.toolCalls?.length
            ? {
              tool_calls: message.toolCalls.map((call) => ({
                id: call.id,
                type: "function",
                function: { name: call.name, arguments: JSON.stringify(call.args) },
              })),
            }
            : {}),
        }
        : { role: "tool", tool_call_id: message.toolCallId, content: message.content }
    ),
  ];
}

function toProviderError(error: unknown, now: number): ProviderError {
  if (error instanceof ProviderError) return error;
  if (error instanceof APIUserAbortError) {
    return new ProviderError("abort", "aborted", { cause: error });
  }
  if (error instanceof APIConnectionTimeoutError) {
    return new ProviderError("timeout", "timed out", { cause: error });
  }
  if (error instanceof APIConnectionError) {
    return connectionFailure(error.cause ?? error, "connection failed");
  }
  if (error instanceof APIError) {
    const message = (error.error as { message?: string } | undefined)?.message ?? error.message;
    return httpFailure(
      "openai",
      { status: error.status, headers: error.headers, message },
      now,
      error,
    );
  }
  if (error instanceof SyntaxError) {
    return new ProviderError("protocol", `malformed stream: ${error.message}`, { cause: error });
  }
  return connectionFailure(error, "request failed");
}

/** The OpenAI Chat Completions adapter; also any OpenAI-compatible base URL. */
export function createOpenAiAdapter(
  provider: ResolvedProvider,
  options: { clock: Clock; log: Logger },
): ProviderAdapter {
  const client = new OpenAI({
    // Keyless local servers get a placeholder; the SDK insists on a value.
    apiKey: provider.apiKey ?? "none",
    ...(provider.baseUrl ? { baseURL: provider.baseUrl } : {}),
    maxRetries: 0,
    logLevel: "warn",
    logger: sdkLogger(options.log),
  });
  return {
    provider,
    async *stream(
      request: AdapterRequest,
      signal: AbortSignal,
      onResponse?: (response: Response) => void,
    ): AsyncIterable<AdapterEvent> {
      const body: Record<string, unknown> = {
        model: request.model,
        messages: toOpenAiMessages(request.system, request.messages),
        stream: true,
        stream_options: { include_usage: true },
        [request.capabilities.maxTokensParam]: request.maxTokens,
      };
      if (request.temperature !== undefined && request.capabilities.temperature === "supported") {
        body.temperature = Math.min(TEMPERATURE_MAX.openai, Math.max(0, request.temperature));
      }
      if (request.stop?.length) body.stop = request.stop.slice(0, 4);
      if (request.tools?.length) {
        body.tools = request.tools.map((tool) => ({
          type: "function",
          function: { name: tool.name, description: tool.description, parameters: tool.parameters },
        }));
        if (request.toolChoice) {
          body.tool_choice = typeof request.toolChoice === "string"
            ? request.toolChoice
            : { type: "function", function: { name: request.toolChoice.name } };
        }
      }
      const calls = new Map<number, { id: string; name: string; json: string }>();
      let finish: string | null = null;
      try {
        // `withResponse` hands over the response once its headers arrive (the stream is read
        // lazily), with no client built per attempt.
        // deno-lint-ignore no-explicit-any
        const { data, response } = await client.chat.completions.create(body as any, {
          signal,
          timeout: request.timeoutMs,
          headers: request.headers,
        }).withResponse();
        onResponse?.(response);
        const stream = data as unknown as AsyncIterable<Record<string, unknown>>;
        for await (const chunk of stream) {
          const usage = chunk.usage as
            | {
              prompt_tokens: number;
              completion_tokens: number;
              prompt_tokens_details?: { cached_tokens?: number };
            }
            | undefined;
          const choice = (chunk.choices as Array<Record<string, unknown>> | undefined)?.[0];
          const delta = (choice?.delta ?? {}) as {
            content?: string | null;
            tool_calls?: Array<
              { index: number; id?: string; function?: { name?: string; arguments?: string } }
            >;
          };
          if (!usage && !delta.content && !delta.tool_calls?.length) {
            yield { type: "keepalive" }; // a role, a finish reason or an empty chunk
          }
          if (usage) {
            const cached = usage.prompt_tokens_details?.cached_tokens;
            yield {
              type: "usage",
              inputTokens: usage.prompt_tokens,
              outputTokens: usage.completion_tokens,
              ...(cached ? { cachedInputTokens: cached } : {}),
            };
          }
          if (!choice) continue;
          if (delta.content) yield { type: "text", delta: delta.content };
          for (const piece of delta.tool_calls ?? []) {
            const call = calls.get(piece.index) ?? { id: "", name: "", json: "" };
            if (piece.id) call.id = piece.id;
            if (piece.function?.name) call.name = piece.function.name;
            call.json += piece.function?.arguments ?? "";
            calls.set(piece.index, call);
          }
          if (!delta.content && delta.tool_calls?.length) yield { type: "activity" };
          if (choice.finish_reason) finish = choice.finish_reason as string;
        }
      } catch (error) {
        throw toProviderError(error, options.clock.now());
      }
      for (const [index, call] of [...calls].sort((a, b) => a[0] - b[0])) {
        yield {
          type: "tool_call",
          call: {
            id: call.id || `call_${index}`,
            name: call.name,
            ...parseArguments(call.json || "{}"),
          },
        };
      }
      if (finish === null) {
        throw new ProviderError("protocol", "the stream ended without a finish reason");
      }
      yield { type: "stop", reason: STOP[finish] ?? "other", providerReason: finish };
    },

    async embed(texts, embedOptions) {
      const vectors: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += 128) {
        try {
          const response = await client.embeddings.create({
            model: embedOptions.model,
            input: texts.slice(i, i + 128) as string[],
            dimensions: embedOptions.dims,
          }, { signal: embedOptions.signal, headers: embedOptions.headers });
          for (const item of [...response.data].sort((a, b) => a.index - b.index)) {
            vectors.push(normalise(item.embedding));
          }
        } catch (error) {
          throw toProviderError(error, options.clock.now());
        }
      }
      return vectors;
    },

    async probe(_models, signal) {
      try {
        await client.models.list({ signal });
        return { ok: true, state: "ok" };
      } catch (error) {
        return probeFailure(toProviderError(error, options.clock.now()), "connection refused");
      }
    },
  };
}
