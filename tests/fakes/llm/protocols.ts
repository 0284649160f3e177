import type { Service } from "./scenes.ts";

/** One piece of a streamed reply on the wire. */
export interface Frame {
  /** `content` frames carry text or tool-call pieces; faults count them. */
  kind: "head" | "content" | "tail";
  data: string;
}

/** What a reply consists of, before it is put on the wire. */
export interface ReplyParts {
  model: string;
  chunks: string[];
  toolCalls: Array<{ id: string; name: string; args: unknown }>;
  usage: { input: number; output: number } | null;
  /** The provider's own stop reason, e.g. `end_turn`, `stop`, `tool_use`. */
  stopReason: string;
}

/** The wire format of one provider. */
export interface Protocol {
  service: Service;
  /** Content type of a streamed reply. */
  streamType: string;
  /** Frames of a streamed reply. */
  frames(parts: ReplyParts): Frame[];
  /** The non-streamed reply body. */
  body(parts: ReplyParts): unknown;
  /** The service's error body. */
  error(status: number, message: string): unknown;
  /** An in-stream error event. */
  streamError(message: string): string;
  /** A broken frame: not JSON, or broken framing. */
  malformed(kind: "json" | "framing"): string;
  /** The provider's default stop reason for a reply with or without tool calls. */
  stopFor(toolCalls: boolean): string;
}

const sse = (event: string | null, data: unknown) =>
  `${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`;

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  503: "api_error",
  529: "overloaded_error",
};

/** Anthropic Messages: SSE with named events. */
export const anthropic: Protocol = {
  service: "anthropic",
  streamType: "text/event-stream",
  stopFor: (toolCalls) => (toolCalls ? "tool_use" : "end_turn"),
  frames(parts) {
    const frames: Frame[] = [
      {
        kind: "head",
        data: sse("message_start", {
          type: "message_start",
          message: {
            id: "msg_fake",
            type: "message",
            role: "assistant",
            model: parts.model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: parts.usage?.input ?? 0, output_tokens: 1 },
          },
        }),
      },
      { kind: "head", data: sse("ping", { type: "ping" }) },
    ];
    let index = 0;
    if (parts.chunks.length > 0) {
      frames.push({
        kind: "head",
        data: sse("content_block_start", {
          type: "content_block_start",
          index,
          content_block: { type: "text", text: "" },
        }),
      });
      for (const chunk of parts.chunks) {
        frames.push({
          kind: "content",
          data: sse("content_block_delta", {
            type: "content_block_delta",
            index,
            delta: { type: "text_delta", text: chunk },
          }),
        });
      }
      frames.push({
        kind: "tail",
        data: sse("content_block_stop", { type: "content_block_stop", index }),
      });
      index++;
    }
    for (const call of parts.toolCalls) {
      frames.push({
        kind: "head",
        data: sse("content_block_start", {
          type: "content_block_start",
          index,
          content_block: { type: "tool_use", id: call.id, name: call.name, input: {} },
        }),
      });
      const json = JSON.stringify(call.args);
      for (let i = 0; i < json.length; i += 10) {
        frames.push({
          kind: "content",
          data: sse("content_block_delta", {
            type: "content_block_delta",
            index,
            delta: { type: "input_json_delta", partial_json: json.slice(i, i + 10) },
          }),
        });
      }
      frames.push({
        kind: "tail",
        data: sse("content_block_stop", { type: "content_block_stop", index }),
      });
      index++;
    }
    frames.push({
      kind: "tail",
      data: sse("message_delta", {
        type: "message_delta",
        delta: { stop_reason: parts.stopReason, stop_sequence: null },
        usage: { output_tokens: parts.usage?.output ?? 0 },
      }),
    });
    frames.push({ kind: "tail", data: sse("message_stop", { type: "message_stop" }) });
    return frames;
  },
  body(parts) {
    return {
      id: "msg_fake",
      type: "message",
      role: "assistant",
      model: parts.model,
      content: [
        ...(parts.chunks.length > 0 ? [{ type: "text", text: parts.chunks.join("") }] : []),
        ...parts.toolCalls.map((call) => ({
          type: "tool_use",
          id: call.id,
          name: call.name,
          input: call.args,
        })),
      ],
      stop_reason: parts.stopReason,
      stop_sequence: null,
      usage: { input_tokens: parts.usage?.input ?? 0, output_tokens: parts.usage?.output ?? 0 },
    };
  },
  error: (status, message) => ({
    type: "error",
    error: { type: ERROR_TYPES[status] ?? "api_error", message },
  }),
  streamError: (message) =>
    sse("error", { type: "error", error: { type: "overloaded_error", message } }),
  malformed: (kind) =>
    kind === "json"
      ? "event: content_block_delta\ndata: {not json\n\n"
      : "event content_block_delta garbage without framing\n\n",
};

/** OpenAI Chat Completions: SSE data chunks ending with `[DONE]`. */
export const openai: Protocol = {
  service: "openai",
  streamType: "text/event-stream",
  stopFor: (toolCalls) => (toolCalls ? "tool_calls" : "stop"),
  frames(parts) {
    const chunk = (delta: unknown, finish: string | null = null) =>
      sse(null, {
        id: "chatcmpl-fake",
        object: "chat.completion.chunk",
        created: 1_700_000_000,
        model: parts.model,
        choices: [{ index: 0, delta, finish_reason: finish }],
      });
    const frames: Frame[] = [{ kind: "head", data: chunk({ role: "assistant", content: "" }) }];
    for (const text of parts.chunks) {
      frames.push({ kind: "content", data: chunk({ content: text }) });
    }
    parts.toolCalls.forEach((call, index) => {
      const json = JSON.stringify(call.args);
      frames.push({
        kind: "content",
        data: chunk({
          tool_calls: [{
            index,
            id: call.id,
            type: "function",
            function: { name: call.name, arguments: "" },
          }],
        }),
      });
      const size = Math.max(1, Math.ceil(json.length / 5)); // arguments in 5 fragments
      for (let i = 0; i < json.length; i += size) {
        frames.push({
          kind: "content",
          data: chunk({
            tool_calls: [{ index, function: { arguments: json.slice(i, i + size) } }],
          }),
        });
      }
    });
    frames.push({ kind: "tail", data: chunk({}, parts.stopReason) });
    if (parts.usage) {
      frames.push({
        kind: "tail",
        data: sse(null, {
          id: "chatcmpl-fake",
          object: "chat.completion.chunk",
          created: 1_700_000_000,
          model: parts.model,
          choices: [],
          usage: {
            prompt_tokens: parts.usage.input,
            completion_tokens: parts.usage.output,
            total_tokens: parts.usage.input + parts.usage.output,
          },
        }),
      });
    }
    frames.push({ kind: "tail", data: "data: [DONE]\n\n" });
    return frames;
  },
  body(parts) {
    return {
      id: "chatcmpl-fake",
      object: "chat.completion",
      created: 1_700_000_000,
      model: parts.model,
      choices: [{
        index: 0,
        message: {
          role: "assistant",
          content: parts.chunks.length > 0 ? parts.chunks.join("") : null,
          ...(parts.toolCalls.length > 0
            ? {
              tool_calls: parts.toolCalls.map((call) => ({
                id: call.id,
                type: "function",
                function: { name: call.name, arguments: JSON.stringify(call.args) },
              })),
            }
            : {}),
        },
        finish_reason: parts.stopReason,
      }],
      ...(parts.usage
        ? {
          usage: {
            prompt_tokens: parts.usage.input,
            completion_tokens: parts.usage.output,
            total_tokens: parts.usage.input + parts.usage.output,
          },
        }
        : {}),
    };
  },
  error: (status, message) => ({
    error: {
      message,
      type: status === 429
        ? "rate_limit_exceeded"
        : status >= 500
        ? "server_error"
        : "invalid_request_error",
      param: null,
      code: null,
    },
  }),
  streamError: (message) =>
    sse(null, { error: { message, type: "server_error", param: null, code: null } }),
  malformed: (
    kind,
  ) => (kind === "json" ? "data: {not json\n\n" : "garbage-without-data-prefix\n\n"),
};

/** Ollama: NDJSON lines, the last with `done: true`. */
export const ollama: Protocol = {
  service: "ollama",
  streamType: "application/x-ndjson",
  stopFor: () => "stop",
  frames(parts) {
    const line = (value: unknown) => JSON.stringify(value) + "\n";
    const base = { model: parts.model, created_at: "2026-11-25T00:00:00.000Z" };
    const frames: Frame[] = parts.chunks.map((text) => ({
      kind: "content",
      data: line({ ...base, message: { role: "assistant", content: text }, done: false }),
    }));
    if (parts.toolCalls.length > 0) {
      frames.push({
        kind: "content",
        data: line({
          ...base,
          message: {
            role: "assistant",
            content: "",
            tool_calls: parts.toolCalls.map((call) => ({
              function: { name: call.name, arguments: call.args },
            })),
          },
          done: false,
        }),
      });
    }
    frames.push({
      kind: "tail",
      data: line({
        ...base,
        message: { role: "assistant", content: "" },
        done: true,
        done_reason: parts.stopReason,
        total_duration: 1_000_000,
        ...(parts.usage
          ? { prompt_eval_count: parts.usage.input, eval_count: parts.usage.output }
          : {}),
      }),
    });
    return frames;
  },
  body(parts) {
    return {
      model: parts.model,
      created_at: "2026-11-25T00:00:00.000Z",
      message: {
        role: "assistant",
        content: parts.chunks.join(""),
        ...(parts.toolCalls.length > 0
          ? {
            tool_calls: parts.toolCalls.map((call) => ({
              function: { name: call.name, arguments: call.args },
            })),
          }
          : {}),
      },
      done: true,
      done_reason: parts.stopReason,
      ...(parts.usage
        ? { prompt_eval_count: parts.usage.input, eval_count: parts.usage.output }
        : {}),
    };
  },
  error: (_status, message) => ({ error: message }),
  streamError: (message) => JSON.stringify({ error: message }) + "\n",
  malformed: (kind) => (kind === "json" ? "{not json\n" : '{"model": "m", "message": '),
};
