import { AppError } from "../errors.ts";

/** The gateway's errors as users see them (spec/llm.md §6). */
export const LLM_ERRORS = {
  NOT_CONFIGURED: {
    code: "LLM_NOT_CONFIGURED",
    status: 503,
    message:
      "No language model provider is configured. Set ANTHROPIC_API_KEY, OPENAI_API_KEY (optionally OPENAI_BASE_URL) or OLLAMA_HOST, or add llm.providers to the config file, then restart",
  },
  UNAVAILABLE: {
    code: "LLM_UNAVAILABLE",
    status: 503,
    message: "No language model provider is available",
  },
  TIMEOUT: {
    code: "LLM_TIMEOUT",
    status: 504,
    message: "The language model did not answer in time",
  },
  CONTEXT_TOO_LONG: {
    code: "LLM_CONTEXT_TOO_LONG",
    status: 413,
    message: "The conversation is longer than the model's context limit",
  },
  BUDGET_EXHAUSTED: {
    code: "BUDGET_EXHAUSTED",
    status: 429,
    message: "The token budget is used up",
  },
  STREAM_INTERRUPTED: {
    code: "LLM_STREAM_INTERRUPTED",
    status: 502,
    message: "The reply was cut off; the partial reply is kept",
  },
  BAD_REQUEST: {
    code: "LLM_BAD_REQUEST",
    status: 500,
    message: "The language model refused the request",
  },
  JSON_INVALID: {
    code: "LLM_JSON_INVALID",
    status: 502,
    message: "The language model did not return the expected JSON",
  },
  ABORTED: { code: "LLM_ABORTED", status: 499, message: "The request was cancelled" },
  SECRET_IN_CONFIG: {
    code: "LLM_SECRET_IN_CONFIG",
    status: 500,
    message: "The config file contains an API key",
  },
  EMBEDDING_CHAIN_MIXED: {
    code: "LLM_EMBEDDING_CHAIN_MIXED",
    status: 500,
    message: "The embedding chain mixes models",
  },
} as const;

/** A gateway failure with one of the {@link LLM_ERRORS} codes and a safe message. */
export class LlmError extends AppError {
  /** Set when the provider said when to try again. */
  readonly retryAfterSeconds: number | undefined;

  /** Creates the error; the message never holds a key, a provider body or a stack. */
  constructor(
    kind: keyof typeof LLM_ERRORS,
    options: { message?: string; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    const { code, status, message } = LLM_ERRORS[kind];
    super(code, options.message ?? message, {
      status,
      cause: options.cause,
      details: options.retryAfterSeconds === undefined
        ? undefined
        : { retry_after_seconds: options.retryAfterSeconds },
    });
    this.name = "LlmError";
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}
