import type { Clock } from "../clock.ts";

/** Options for {@link ollamaAnswers}. */
export interface OllamaAnswersOptions {
  /** Times the wait (the kernel's clock). */
  clock: Clock;
  /** How long to wait for the answer (spec/llm.md §2.1: 1 s at start-up). */
  timeoutMs: number;
}

/**
 * Whether an Ollama server answers `GET <url>/api/version` with a 2xx
 * within `timeoutMs`: the start-up autodetection of a local Ollama when no
 * provider is configured. Any failure (refused, timeout, error status)
 * means no.
 */
export async function ollamaAnswers(url: string, options: OllamaAnswersOptions): Promise<boolean> {
  const controller = new AbortController();
  const { promise: timedOut, resolve } = Promise.withResolvers<false>();
  const timer = options.clock.setTimeout(() => {
    controller.abort();
    resolve(false);
  }, options.timeoutMs);
  const answer = (async () => {
    try {
      const response = await fetch(`${url.replace(/\/$/, "")}/api/version`, {
        signal: controller.signal,
      });
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  })();
  try {
    // The timer decides on the kernel clock, even if fetch ignored the abort.
    return await Promise.race([answer, timedOut]);
  } finally {
    options.clock.clearTimeout(timer);
  }
}
