/**
 * Default models of unconfigured chains, kept in one place (spec/llm.md
 * §2.2). Tests never depend on these names.
 */
export const DEFAULT_MODELS = {
  reply: { anthropic: "claude-sonnet-4-6", openai: "gpt-5.4-mini", ollama: "llama3.1:8b" },
  background: { anthropic: "claude-haiku-4-5", openai: "gpt-5.4-nano", ollama: "llama3.1:8b" },
} as const;
