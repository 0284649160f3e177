import { z } from "zod";
import { configMeta, durationMs } from "../config/fields.ts";

const providerType = z.enum(["anthropic", "openai", "ollama"]);

const chainEntry = z.strictObject({
  provider: z.string().min(1),
  model: z.string().min(1).optional(),
  temperature: z.enum(["supported", "unsupported"]).optional(),
  tools: z.enum(["native", "json", "none"]).optional(),
  maxTokensParam: z.enum(["max_tokens", "max_completion_tokens"]).optional(),
  contextTokens: z.number().int().min(1).optional(),
  maxOutputTokens: z.number().int().min(1).optional(),
  /** Embedding dimension (embedding chains). */
  dims: z.number().int().min(1).optional(),
});

/** One entry of a failover chain. */
export type ChainEntryConfig = z.output<typeof chainEntry>;

const timeouts = (firstTokenMs: number, totalMs: number) =>
  z.strictObject({
    connectMs: durationMs(10_000, { min: 1 }).meta(
      configMeta({ description: "Connecting to a provider." }),
    ),
    firstTokenMs: durationMs(firstTokenMs, { min: 1 }).meta(
      configMeta({ description: "Until the first token." }),
    ),
    idleMs: durationMs(30_000, { min: 1 }).meta(
      configMeta({
        description:
          "Between two frames of a stream (text, a tool-call piece, a ping, an empty chunk).",
      }),
    ),
    totalMs: durationMs(totalMs, { min: 1 }).meta(
      configMeta({ description: "All attempts of one request." }),
    ),
  }).prefault({});

/** The `llm` config section (spec/llm.md §8). */
export const LLM_CONFIG_SHAPE = {
  providers: z.record(
    z.string().regex(/^[a-z][a-z0-9_-]*$/),
    z.strictObject({
      type: providerType,
      apiKeyEnv: z.string().regex(/^[A-Z][A-Z0-9_]*$/).optional(),
      baseUrl: z.url().optional(),
      baseUrlEnv: z.string().regex(/^[A-Z][A-Z0-9_]*$/).optional(),
      hostEnv: z.string().regex(/^[A-Z][A-Z0-9_]*$/).optional(),
    }),
  ).nullable().default(null).meta(configMeta({
    description:
      "Provider id → {type, apiKeyEnv?, baseUrl? | baseUrlEnv?, hostEnv?}. Keys are named by variable, never written here. Null derives the providers from ANTHROPIC_API_KEY, OPENAI_API_KEY/OPENAI_BASE_URL and OLLAMA_HOST.",
  })),
  autodetectOllama: z.boolean().default(true).meta(configMeta({
    description:
      "With no provider configured, use Ollama if 127.0.0.1:11434 answers within 1 s at start.",
  })),
  roles: z.strictObject({
    reply: z.array(chainEntry).min(1).nullable().default(null).meta(configMeta({
      description:
        "Failover chain of the conversational model; null builds it from the detected providers.",
    })),
    background: z.array(chainEntry).min(1).nullable().default(null).meta(configMeta({
      description:
        "Failover chain of the cheap model for forecasts, reflection, extraction and project steps.",
    })),
    embedding: z.array(chainEntry).min(1).default([{ provider: "lexical" }]).meta(configMeta({
      description:
        "Embedding chain; entries must share one model and dimension. Default: the local lexical embedder.",
    })),
  }).prefault({}),
  defaults: z.strictObject({
    maxTokens: z.strictObject({
      reply: z.number().int().min(1).default(1_024).meta(
        configMeta({ description: "Reply role." }),
      ),
      background: z.number().int().min(1).default(512).meta(
        configMeta({ description: "Background role." }),
      ),
    }).prefault({}),
  }).prefault({}),
  timeouts: z.strictObject({
    reply: timeouts(30_000, 180_000),
    background: timeouts(60_000, 300_000),
    ollamaFirstTokenMs: durationMs(120_000, { min: 1 }).meta(configMeta({
      description: "First-token limit for Ollama (it may be loading the model).",
    })),
  }).prefault({}),
  retry: z.strictObject({
    maxRetries: z.number().int().min(0).max(10).default(2).meta(
      configMeta({ description: "Retries per provider." }),
    ),
    baseMs: durationMs(500, { min: 1 }).meta(
      configMeta({ description: "Back-off base (full jitter)." }),
    ),
    capMs: durationMs(8_000, { min: 1 }).meta(configMeta({ description: "Back-off cap." })),
    maxRetryAfterMs: durationMs(20_000, { min: 0 }).meta(configMeta({
      description: "A longer retry-after fails over at once and marks the provider throttled.",
    })),
  }).prefault({}),
  breaker: z.strictObject({
    consecutiveFailures: z.number().int().min(1).default(5).meta(
      configMeta({ description: "Opens after this many failures in a row." }),
    ),
    windowCalls: z.number().int().min(1).default(20).meta(
      configMeta({ description: "Calls in the failure-ratio window." }),
    ),
    windowMs: durationMs(60_000, { min: 1 }).meta(
      configMeta({ description: "The failure-ratio window." }),
    ),
    failureRatio: z.number().min(0).max(1).default(0.5).meta(
      configMeta({ description: "Opens at this share of failures (at least 10 calls)." }),
    ),
    openMs: durationMs(30_000, { min: 1 }).meta(
      configMeta({ description: "First open period; doubles on each re-open." }),
    ),
    maxOpenMs: durationMs(300_000, { min: 1 }).meta(
      configMeta({ description: "Longest open period." }),
    ),
  }).prefault({}),
  ledger: z.strictObject({
    retentionDays: z.number().int().min(1).default(90).meta(configMeta({
      description: "Ledger rows older than this are folded into daily totals (kept 730 days).",
    })),
  }).prefault({}),
  testHeaders: z.boolean().default(false).meta(configMeta({
    description:
      "Send x-synth-module and x-synth-purpose to providers (test harness and benchmarks only).",
  })),
  generate: z.strictObject({
    maxTokens: z.number().int().min(1).default(150).meta(
      configMeta({ description: "Cap of POST /api/generate." }),
    ),
  }).prefault({}),
};

/** Price of a model in USD per million tokens. */
export const priceSchema = z.strictObject({
  in: z.number().min(0),
  out: z.number().min(0),
  cachedIn: z.number().min(0).optional(),
});

/** The resolved `llm` section. */
export type LlmConfig = z.output<z.ZodObject<typeof LLM_CONFIG_SHAPE>>;
