/**
 * A test host whose language model providers point at the fake LLM server.
 */
import { createTestHost, type CreateTestHostOptions, type TestHost } from "@synth/testing";
import type { ChatEvent, ChatRequest } from "@synth/kernel";
import type { KernelLlm } from "../../src/llm/gateway.ts";
import type { FakeLlm, RecordedRequest, Service } from "../fakes/llm/mod.ts";

/** Keys the fake accepts; tests search logs and bodies for them. */
export const TEST_KEYS = {
  anthropic: "sk-ant-test-0123456789abcdefghij",
  openai: "sk-test-0123456789abcdefghijklmn",
} as const;

/** Models of each service in the tests' chains. */
export const MODELS = {
  anthropic: "claude-test",
  openai: "gpt-test",
  ollama: "llama3.1:8b",
} as const;

/** Environment pointing every provider at the fake. */
export function fakeEnv(fake: FakeLlm, services: readonly Service[]): Record<string, string> {
  const env: Record<string, string> = {};
  if (services.includes("anthropic")) {
    env.ANTHROPIC_API_KEY = TEST_KEYS.anthropic;
    env.ANTHROPIC_BASE_URL = fake.url;
  }
  if (services.includes("openai")) {
    env.OPENAI_API_KEY = TEST_KEYS.openai;
    env.OPENAI_BASE_URL = `${fake.url}/v1`;
  }
  if (services.includes("ollama")) env.OLLAMA_HOST = fake.url;
  return env;
}

/** Options for {@link llmHost}. */
export interface LlmHostOptions extends CreateTestHostOptions {
  /** The chain of the reply and background roles, in order. @default ["openai"] */
  chain?: readonly Service[];
  /** Extra `llm` config merged over the chain. */
  llm?: Record<string, unknown>;
}

/** A test host whose reply and background chains are `chain`, all served by the fake. */
export async function llmHost(fake: FakeLlm, options: LlmHostOptions = {}): Promise<TestHost> {
  const chain = options.chain ?? ["openai"];
  const entries = chain.map((service) => ({ provider: service, model: MODELS[service] }));
  const { chain: _chain, llm, ...rest } = options;
  return await createTestHost({
    ...rest,
    env: { ...fakeEnv(fake, chain), ...options.env },
    config: {
      ...options.config,
      llm: {
        roles: { reply: entries, background: entries },
        testHeaders: true,
        ...llm,
      },
    },
  });
}

/** The kernel's gateway of a host. */
export function gateway(host: TestHost): KernelLlm {
  return host.kernel.llm;
}

/** A one-message request. */
export function ask(text: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return {
    module: "test",
    purpose: "reply",
    role: "reply",
    messages: [{ role: "user", content: text }],
    ...extra,
  };
}

/** Every event of a stream. */
export async function drain(stream: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const events: ChatEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** The text of a stream's events. */
export function textOf(events: readonly ChatEvent[]): string {
  return events.map((event) => event.type === "text" ? event.delta : "").join("");
}

/**
 * Lets the clock fire timers that are due now (zero back-offs) until
 * `promise` settles, without moving time.
 */
export async function settle<T>(host: TestHost, promise: Promise<T>): Promise<T> {
  let done = false;
  const watched = promise.finally(() => (done = true));
  watched.catch(() => {});
  while (!done) await host.clock.tick(0);
  return await watched;
}

/** The chat requests (not probes or embeddings) the fake received, by service. */
export function chatRequests(fake: FakeLlm, service?: Service): RecordedRequest[] {
  return fake.requests().filter((request) =>
    request.method === "POST" &&
    ["/v1/messages", "/v1/chat/completions", "/api/chat"].includes(request.path) &&
    (service === undefined || request.service === service)
  );
}

/** A 127.0.0.1 port nothing listens on (connections are refused). */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Zero back-off, so retries need no clock ticks beyond due-now timers. */
export const NO_BACKOFF = { retry: { baseMs: 1, capMs: 1 } } as const;

/**
 * Awaits `promise`, failing the test if it has not settled after a generous
 * real-time guard (a hung promise would otherwise hang the suite).
 */
export async function eventually<T>(promise: Promise<T>, what: string): Promise<T> {
  let guard: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        guard = setTimeout(() => reject(new Error(`never happened: ${what}`)), 10_000);
      }),
    ]);
  } finally {
    clearTimeout(guard);
  }
}
