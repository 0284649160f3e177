import type { Logger } from "../../telemetry/logger.ts";
import type { ToolCall } from "../types.ts";

/** Parses tool arguments once, never throwing: bad JSON gives `parseError` and `{}`. */
export function parseArguments(json: string): Pick<ToolCall, "args" | "parseError"> {
  try {
    const value = JSON.parse(json);
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      return { args: value as Record<string, unknown> };
    }
    return { args: {}, parseError: "the arguments are not a JSON object" };
  } catch (error) {
    return {
      args: {},
      parseError: `the arguments are not valid JSON: ${(error as Error).message}`,
    };
  }
}

/** L2-normalises a vector (a zero vector stays zero). */
export function normalise(values: ArrayLike<number>): Float32Array {
  const vector = Float32Array.from(values);
  let norm = 0;
  for (const value of vector) norm += value * value;
  if (norm > 0) {
    const inverse = 1 / Math.sqrt(norm);
    for (let i = 0; i < vector.length; i++) vector[i] = vector[i]! * inverse;
  }
  return vector;
}

/** The logger shape the Anthropic and OpenAI SDKs accept. */
export interface SdkLogger {
  debug(message: string, ...rest: unknown[]): void;
  info(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  error(message: string, ...rest: unknown[]): void;
}

/** The SDKs' logger interface, sent to ours (which redacts secrets). */
export function sdkLogger(log: Logger): SdkLogger {
  const write =
    (level: "debug" | "info" | "warn" | "error") => (message: string, ...rest: unknown[]) =>
      log[level](
        String(message),
        rest.length > 0 ? { details: rest.map(String).join(" ").slice(0, 500) } : {},
      );
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/** A fetch that reports each response's headers (the SDKs do not expose them while streaming). */
export function reportingFetch(
  onResponse: ((response: Response) => void) | undefined,
  signal?: AbortSignal,
): typeof fetch {
  return async (input: RequestInfo | URL, init?: RequestInit) => {
    const response = await fetch(input, signal ? { ...init, signal } : init);
    onResponse?.(response);
    return response;
  };
}
