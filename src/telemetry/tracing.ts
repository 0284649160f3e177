/**
 * Spans of our own for Deno's built-in OpenTelemetry (spec/server.md §13):
 * `llm.<module>` per language model call (from its ledger row) and `turn`
 * with a child per stage. Deno traces each request and `fetch` by itself.
 * Nothing is exported unless the operator sets `OTEL_DENO=true` (the
 * `@opentelemetry/api` tracer is a no-op otherwise); attributes never hold
 * content.
 *
 * @module
 */
import { context, trace } from "@opentelemetry/api";
import type { LedgerEntry } from "../llm/ledger.ts";
import { VERSION } from "../version.ts";

const tracer = trace.getTracer("synth-mind", VERSION);

/** A finished language model call as a span `llm.<module>`, timed from its ledger row. */
export function traceLlmCall(row: LedgerEntry): void {
  const span = tracer.startSpan(`llm.${row.module}`, {
    startTime: row.at - row.latency_ms,
    attributes: {
      "gen_ai.system": row.provider,
      "gen_ai.request.model": row.model,
      "gen_ai.usage.input_tokens": row.tokens_in,
      "gen_ai.usage.output_tokens": row.tokens_out,
      "synth.purpose": row.purpose,
      "synth.outcome": row.status,
      ...(row.first_token_ms !== null ? { "synth.ttft_ms": row.first_token_ms } : {}),
    },
  });
  span.end(row.at);
}

/** A finished turn as a span `turn` with one child per stage, ending at `endMs`. */
export function traceTurn(
  outcome: string,
  stages: ReadonlyArray<{ name: string; durationMs: number }>,
  endMs: number,
): void {
  const total = stages.reduce((sum, stage) => sum + stage.durationMs, 0);
  const start = endMs - total;
  const turn = tracer.startSpan("turn", {
    startTime: start,
    attributes: { "synth.outcome": outcome },
  });
  const parent = trace.setSpan(context.active(), turn);
  let at = start;
  for (const stage of stages) {
    tracer.startSpan(`turn.${stage.name}`, { startTime: at }, parent).end(at + stage.durationMs);
    at += stage.durationMs;
  }
  turn.end(endMs);
}
