import { ConfigurationError } from "../errors.ts";
import type { ChainEntryConfig, LlmConfig } from "./config.ts";
import { DEFAULT_MODELS } from "./default_models.ts";
import { LLM_ERRORS } from "./errors.ts";
import type { LlmRole } from "./types.ts";

/** A provider the gateway can call. */
export interface ResolvedProvider {
  id: string;
  type: "anthropic" | "openai" | "ollama";
  apiKey?: string;
  /** Anthropic/OpenAI base URL; Ollama host URL. */
  baseUrl?: string;
}

/** The highest temperature each provider's API accepts (the lowest is 0). */
export const TEMPERATURE_MAX: Readonly<Record<ResolvedProvider["type"], number>> = {
  anthropic: 1,
  openai: 2,
  ollama: 2,
};

/** What a chain entry's model supports (learned or configured). */
export interface Capabilities {
  temperature: "supported" | "unsupported";
  tools: "native" | "json" | "none";
  maxTokensParam: "max_tokens" | "max_completion_tokens";
}

/** One entry of a chat chain. */
export interface ChatEntry {
  role: LlmRole;
  provider: ResolvedProvider;
  model: string;
  capabilities: Capabilities;
  /** Set from config; learned capabilities do not override them. */
  configured: Partial<Capabilities>;
}

/** One entry of the embedding chain. */
export interface EmbeddingEntry {
  provider: ResolvedProvider | "lexical";
  model: string;
  dims: number;
}

/** The chains of every role. */
export interface ResolvedChains {
  providers: ResolvedProvider[];
  reply: ChatEntry[];
  background: ChatEntry[];
  embedding: EmbeddingEntry[];
}

const DEFAULT_KEY_VARS = {
  anthropic: "ANTHROPIC_API_KEY",
  openai: "OPENAI_API_KEY",
  ollama: undefined,
} as const;
const DEFAULT_URL_VARS = {
  anthropic: "ANTHROPIC_BASE_URL",
  openai: "OPENAI_BASE_URL",
  ollama: "OLLAMA_HOST",
} as const;
const ORDER = ["anthropic", "openai", "ollama"] as const;
const EMBEDDING_DEFAULTS = {
  openai: { model: "text-embedding-3-small", dims: 1536 },
  ollama: { model: "nomic-embed-text", dims: 768 },
} as const;

/**
 * An `OLLAMA_HOST` value as a URL, read the way the Ollama client reads it:
 * `host:port` → `http://host:port`, a bare host gets Ollama's port 11434,
 * `:port` means 127.0.0.1, and a URL is kept (without a trailing slash).
 */
export function ollamaUrl(host: string): string {
  const value = host.trim().replace(/\/+$/, "");
  if (/^https?:\/\//.test(value)) return value;
  if (value.startsWith(":")) return `http://127.0.0.1${value}`;
  return /:\d+$/.test(value) ? `http://${value}` : `http://${value}:11434`;
}

/** The default Ollama address autodetection tries. */
export const OLLAMA_DEFAULT_URL = "http://127.0.0.1:11434";

/**
 * The providers from `llm.providers`, or, when that is null, from the
 * environment (and the autodetected local Ollama).
 */
export function resolveProviders(
  config: LlmConfig,
  env: (name: string) => string | undefined,
  ollamaDetected: boolean,
): ResolvedProvider[] {
  if (config.providers !== null) {
    return Object.entries(config.providers).map(([id, entry]) => {
      const keyVar = entry.apiKeyEnv ?? DEFAULT_KEY_VARS[entry.type];
      const urlVar = entry.type === "ollama" ? entry.hostEnv ?? entry.baseUrlEnv : entry.baseUrlEnv;
      const url = entry.baseUrl ?? env(urlVar ?? DEFAULT_URL_VARS[entry.type]) ??
        (entry.type === "ollama" ? OLLAMA_DEFAULT_URL : undefined);
      const provider: ResolvedProvider = { id, type: entry.type };
      const apiKey = keyVar ? env(keyVar) : undefined;
      if (apiKey) provider.apiKey = apiKey;
      if (url) provider.baseUrl = entry.type === "ollama" ? ollamaUrl(url) : url;
      return provider;
    });
  }
  const providers: ResolvedProvider[] = [];
  const anthropicKey = env("ANTHROPIC_API_KEY");
  if (anthropicKey) {
    const baseUrl = env("ANTHROPIC_BASE_URL");
    providers.push({
      id: "anthropic",
      type: "anthropic",
      apiKey: anthropicKey,
      ...(baseUrl ? { baseUrl } : {}),
    });
  }
  const openaiKey = env("OPENAI_API_KEY");
  const openaiUrl = env("OPENAI_BASE_URL");
  if (openaiKey || openaiUrl) {
    providers.push({
      id: "openai",
      type: "openai",
      ...(openaiKey ? { apiKey: openaiKey } : {}),
      ...(openaiUrl ? { baseUrl: openaiUrl } : {}),
    });
  }
  const ollamaHost = env("OLLAMA_HOST");
  if (ollamaHost) providers.push({ id: "ollama", type: "ollama", baseUrl: ollamaUrl(ollamaHost) });
  else if (providers.length === 0 && ollamaDetected) {
    providers.push({ id: "ollama", type: "ollama", baseUrl: OLLAMA_DEFAULT_URL });
  }
  return providers;
}

function defaultCapabilities(provider: ResolvedProvider): Capabilities {
  const official = provider.type === "openai" &&
    (provider.baseUrl === undefined || /^https:\/\/api\.openai\.com\b/.test(provider.baseUrl));
  return {
    temperature: "supported",
    tools: "native",
    maxTokensParam: official ? "max_completion_tokens" : "max_tokens",
  };
}

function chatChain(
  role: LlmRole,
  entries: readonly ChainEntryConfig[] | null,
  providers: readonly ResolvedProvider[],
): ChatEntry[] {
  const byId = new Map(providers.map((provider) => [provider.id, provider]));
  const configured = entries ??
    ORDER.flatMap((type) =>
      providers.filter((provider) => provider.type === type).map((provider) => ({
        provider: provider.id,
      }))
    );
  return configured.map((entry: ChainEntryConfig) => {
    const provider = byId.get(entry.provider);
    if (!provider) {
      throw new ConfigurationError(
        "LLM_PROVIDER_UNKNOWN",
        `Cannot start: llm.roles.${role} names provider "${entry.provider}", which is not configured (known: ${
          [...byId.keys()].join(", ") || "none"
        })`,
      );
    }
    const fixed: Partial<Capabilities> = {};
    if (entry.temperature) fixed.temperature = entry.temperature;
    if (entry.tools) fixed.tools = entry.tools;
    if (entry.maxTokensParam) fixed.maxTokensParam = entry.maxTokensParam;
    return {
      role,
      provider,
      model: entry.model ?? DEFAULT_MODELS[role][provider.type],
      capabilities: { ...defaultCapabilities(provider), ...fixed },
      configured: fixed,
    };
  });
}

/**
 * Builds every role's chain.
 *
 * @throws {ConfigurationError} `LLM_PROVIDER_UNKNOWN` for a chain naming an
 * unconfigured provider; `LLM_EMBEDDING_CHAIN_MIXED` for an embedding chain
 * mixing models or dimensions.
 */
export function resolveChains(
  config: LlmConfig,
  env: (name: string) => string | undefined,
  ollamaDetected: boolean,
): ResolvedChains {
  const providers = resolveProviders(config, env, ollamaDetected);
  const byId = new Map(providers.map((provider) => [provider.id, provider]));
  const embedding: EmbeddingEntry[] = config.roles.embedding.map((entry) => {
    if (entry.provider === "lexical") {
      return { provider: "lexical", model: "lexical-hash-v1", dims: 384 };
    }
    const provider = byId.get(entry.provider);
    if (!provider || provider.type === "anthropic") {
      throw new ConfigurationError(
        "LLM_PROVIDER_UNKNOWN",
        `Cannot start: llm.roles.embedding names provider "${entry.provider}", which is not a configured OpenAI or Ollama provider`,
      );
    }
    const defaults = EMBEDDING_DEFAULTS[provider.type];
    return { provider, model: entry.model ?? defaults.model, dims: entry.dims ?? defaults.dims };
  });
  const first = embedding[0]!;
  if (embedding.some((entry) => entry.model !== first.model || entry.dims !== first.dims)) {
    throw new ConfigurationError(
      LLM_ERRORS.EMBEDDING_CHAIN_MIXED.code,
      `Cannot start: llm.roles.embedding mixes models (${
        embedding.map((entry) => `${entry.model}/${entry.dims}`).join(", ")
      }); failing over between embedding models would mix vector spaces. Use one model and dimension per chain.`,
    );
  }
  return {
    providers,
    reply: chatChain("reply", config.roles.reply, providers),
    background: chatChain("background", config.roles.background, providers),
    embedding,
  };
}

/** Matches an API key written into config (`sk-…`, `sk-ant-…`). */
const KEY_REGEXP = /\bsk-(?:ant-)?[A-Za-z0-9_-]{16,}/;

/**
 * Refuses a config file that contains an API key value: keys belong in the
 * environment, named by `apiKeyEnv`. Values set by environment variables
 * (`skip`) are not checked.
 *
 * @throws {ConfigurationError} `LLM_SECRET_IN_CONFIG` naming the key path.
 */
export function assertNoKeysInConfig(
  config: unknown,
  options: { skip?: ReadonlySet<string>; path?: string[] } = {},
): void {
  const path = options.path ?? [];
  if (options.skip?.has(path.join("."))) return;
  if (typeof config === "string") {
    if (KEY_REGEXP.test(config)) {
      throw new ConfigurationError(
        LLM_ERRORS.SECRET_IN_CONFIG.code,
        `Cannot start: the config value at ${
          path.join(".")
        } looks like an API key. Put keys in the environment (ANTHROPIC_API_KEY, OPENAI_API_KEY or the variable named by llm.providers.<id>.apiKeyEnv), never in the config file.`,
      );
    }
    return;
  }
  if (config !== null && typeof config === "object") {
    for (const [key, value] of Object.entries(config)) {
      assertNoKeysInConfig(value, { ...options, path: [...path, key] });
    }
  }
}

/** The API key values the logger must never print (unreadable variables are skipped). */
export function secretValues(
  config: LlmConfig,
  env: (name: string) => string | undefined,
): string[] {
  const names = new Set(["ANTHROPIC_API_KEY", "OPENAI_API_KEY"]);
  for (const entry of Object.values(config.providers ?? {})) {
    if (entry.apiKeyEnv) names.add(entry.apiKeyEnv);
  }
  const values: string[] = [];
  for (const name of names) {
    try {
      const value = env(name);
      if (value) values.push(value);
    } catch {
      // Not readable: the gateway reports it at start.
    }
  }
  return values;
}
