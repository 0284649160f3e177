import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from "@anthropic-ai/sdk";
import type { Clock } from "../../clock.ts";
import type { Logger } from "../../telemetry/logger.ts";
import { connectionFailure, httpFailure, probeFailure, ProviderError } from "../provider_error.ts";
import { type ResolvedProvider, TEMPERATURE_MAX } from "../providers.ts";
import type { ChatMessage, StopReason, ToolCall } from "../types.ts";
import { parseArguments, sdkLogger } from "./shared.ts";
import type { AdapterEvent, AdapterRequest, ProviderAdapter } from "./types.ts";

/** A content block of a message. */
export type Block =
  | { type: "text"; text: string }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: "tool_result"; tool_use_id: string; content: string; is_error?: boolean };

/** A message as the Messages API takes it. */
export interface AnthropicMessage {
  role: "user" | "assistant";
  content: Block[];
}

const STOP: Record<string, StopReason> = {
  end_turn: "end",
  max_tokens: "max_tokens",
  tool_use: "tool_calls",
  stop_sequence: "stop_sequence",
  refusal: "refusal",
};

/**
 * Anthropic's message list: tool results become user messages of
 * `tool_result` blocks, and consecutive messages of one role are merged
 * (the API wants them alternating).
 *
 * @throws {ProviderError} When the first message is not from the user.
 */
export function toAnthropicMessages(messages: readonly ChatMessage[]): AnthropicMessage[] {
  const out: AnthropicMessage[] = [];
  for (const message of messages) {
    const role = message.role === "assistant" ? "assistant" : "user";
    const blocks: Block[] = message.role === "user"
      ? [{ type: "text", text: message.content }]
      : message.role === "assistant"
      ? [
        ...(message.content ? [{ type: "text" as const, text: message.content }] : []),
        ...(message.toolCalls ?? []).map((call) => ({
          type: "tool_use" as const,
          id: call.id,
          name: call.name,
          input: call.args,
        })),
      ]
      : [{
        type: "tool_result",
        tool_use_id: message.toolCallId,
        content: message.content,
        ...(message.isError ? { is_error: true } : {}),
      }];
    const last = out.at(-1);
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  }
  if (out[0]?.role !== "user") {
    // The caller's bug, not the provider's: an HTTP 400 kind is neither retried nor failed over.
    throw new ProviderError("http", "The first message to Anthropic must come from the user", {
      status: 400,
    });
  }
  return out;
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
    const message = (error.error as { error?: { message?: string } } | undefined)?.error?.message ??
      error.message;
    return httpFailure(
      "anthropic",
      { status: error.status, headers: error.headers, message },
      now,
      error,
    );
  }
  return connectionFailure(error, "request failed");
}

/** The Anthropic Messages adapter (official SDK, SDK retries off). */
export function createAnthropicAdapter(
  provider: ResolvedProvider,
  options: { clock: Clock; log: Logger },
): ProviderAdapter {
  const client = new Anthropic({
    apiKey: provider.apiKey ?? null,
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
        max_tokens: request.maxTokens,
        messages: toAnthropicMessages(request.messages),
        stream: true,
      };
      if (request.system) body.system = request.system;
      if (request.temperature !== undefined && request.capabilities.temperature === "supported") {
        body.temperature = Math.min(TEMPERATURE_MAX.anthropic, Math.max(0, request.temperature));
      }
      if (request.stop?.length) body.stop_sequences = request.stop;
      if (request.tools?.length) {
        // With "none" the tools are still sent: a history holding tool_use blocks needs them.
        body.tools = request.tools.map((tool) => ({
          name: tool.name,
          description: tool.description,
          input_schema: tool.parameters,
        }));
        if (request.toolChoice) {
          body.tool_choice = typeof request.toolChoice === "string"
            ? { type: request.toolChoice }
            : { type: "tool", name: request.toolChoice.name };
        }
      }
      const tools = new Map<number, { id: string; name: string; json: string }>();
      let inputTokens = 0;
      let cachedTokens = 0;
      let stopped = false;
      try {
        // `withResponse` hands over the response once its headers arrive (the stream is read
        // lazily), with no client built per attempt.
        // deno-lint-ignore no-explicit-any
        const { data, response } = await client.messages.create(body as any, {
          signal,
          timeout: request.timeoutMs,
          headers: request.headers,
        }).withResponse();
        onResponse?.(response);
        const stream = data as unknown as AsyncIterable<Record<string, unknown>>;
        for await (const event of stream) {
          switch (event.type) {
            case "message_start": {
              const usage = (event.message as { usage?: Record<string, number> }).usage ?? {};
              // Anthropic counts cache reads and writes apart from input_tokens; ours is the total.
              cachedTokens = usage.cache_read_input_tokens ?? 0;
              inputTokens = (usage.input_tokens ?? 0) + cachedTokens +
                (usage.cache_creation_input_tokens ?? 0);
              yield { type: "keepalive" };
              break;
            }
            case "content_block_start": {
              const block = event.content_block as { type: string; id?: string; name?: string };
              if (block.type === "tool_use") {
                tools.set(event.index as number, { id: block.id!, name: block.name!, json: "" });
              }
              yield { type: "keepalive" };
              break;
            }
            case "content_block_delta": {
              const delta = event.delta as { type: string; text?: string; partial_json?: string };
              if (delta.type === "text_delta" && delta.text) {
                yield { type: "text", delta: delta.text };
              } else if (delta.type === "input_json_delta") {
                const tool = tools.get(event.index as number);
                if (tool) tool.json += delta.partial_json ?? "";
                yield { type: "activity" };
              } else yield { type: "keepalive" }; // thinking, a signature, an empty text
              break;
            }
            case "content_block_stop": {
              const tool = tools.get(event.index as number);
              if (tool) {
                const call: ToolCall = {
                  id: tool.id,
                  name: tool.name,
                  ...parseArguments(tool.json || "{}"),
                };
                yield { type: "tool_call", call };
                tools.delete(event.index as number);
              } else yield { type: "keepalive" };
              break;
            }
            case "message_delta": {
              const delta = event.delta as { stop_reason?: string | null };
              const usage = (event.usage ?? {}) as { output_tokens?: number };
              yield {
                type: "usage",
                inputTokens,
                outputTokens: usage.output_tokens ?? 0,
                ...(cachedTokens ? { cachedInputTokens: cachedTokens } : {}),
              };
              if (delta.stop_reason) {
                stopped = true;
                yield {
                  type: "stop",
                  reason: STOP[delta.stop_reason] ?? "other",
                  providerReason: delta.stop_reason,
                };
              }
              break;
            }
            default:
              yield { type: "keepalive" }; // ping, message_stop
              break;
          }
        }
      } catch (error) {
        throw toProviderError(error, options.clock.now());
      }
      if (!stopped) throw new ProviderError("protocol", "the stream ended without a stop reason");
    },

    embed() {
      return Promise.reject(
        new ProviderError("protocol", "Anthropic has no embedding API", { status: 400 }),
      );
    },

    async probe(_models, signal) {
      try {
        await client.models.list({ limit: 1 }, { signal });
        return { ok: true, state: "ok" };
      } catch (error) {
        return probeFailure(toProviderError(error, options.clock.now()), "connection refused");
      }
    },
  };
}
