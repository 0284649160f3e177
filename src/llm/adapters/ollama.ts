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
import type { ResolvedProvider } from "../providers.ts";
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
    const client = new Ollama({
      host,
      headers,
      fetch: reportingFetch((response) => {
        seen.response = response;
        onResponse?.(response);
      }, signal),
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
        modelOptions.temperature = Math.min(2, Math.max(0, request.temperature));
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
