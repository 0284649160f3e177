import { AppError } from "@synth/kernel";

/** The memory plugin's error codes (spec/memory.md §9). */
export const MEMORY_ERRORS = {
  NOT_FOUND: { code: "MEMORY_NOT_FOUND", status: 404, message: "No such memory" },
  PAYLOAD_INVALID: {
    code: "MEMORY_PAYLOAD_INVALID",
    status: 400,
    message: "The payload is invalid",
  },
  TEXT_TOO_LONG: {
    code: "MEMORY_TEXT_TOO_LONG",
    status: 400,
    message:
      "The text is too long (8,000 characters for facts, events and self memories; 32,000 for messages)",
  },
  KV_CONFLICT: {
    code: "MEMORY_KV_CONFLICT",
    status: 409,
    message: "The value changed since it was read",
  },
  REEMBED_RUNNING: {
    code: "MEMORY_REEMBED_RUNNING",
    status: 409,
    message: "A re-embedding job is already running",
  },
  IMPORT_INVALID: {
    code: "MEMORY_IMPORT_INVALID",
    status: 400,
    message: "The import file is invalid",
  },
  EPISODE_TYPE_UNKNOWN: {
    code: "MEMORY_EPISODE_TYPE_UNKNOWN",
    status: 500,
    message: "The event type is not registered",
  },
  EMBEDDING_MISMATCH: {
    code: "MEMORY_EMBEDDING_MISMATCH",
    status: 500,
    message: "The embedding model changed",
  },
  EMBEDDING_DIMENSION: {
    code: "MEMORY_EMBEDDING_DIMENSION",
    status: 500,
    message: "The embedder returned a vector of the wrong dimension",
  },
} as const;

/** Options for {@link memoryError}. */
export interface MemoryErrorOptions {
  field?: string;
  details?: unknown;
  /** Replaces the fixed sentence (it must stay free of content and secrets). */
  message?: string;
  cause?: unknown;
}

/** An {@link AppError} of one of the {@link MEMORY_ERRORS}. */
export function memoryError(
  kind: keyof typeof MEMORY_ERRORS,
  options: MemoryErrorOptions = {},
): AppError {
  const { code, status, message } = MEMORY_ERRORS[kind];
  return new AppError(code, options.message ?? message, {
    status,
    field: options.field,
    details: options.details,
    cause: options.cause,
  });
}
