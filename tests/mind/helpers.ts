/**
 * A test host with the mind, the memory plugin and the fake LLM server.
 */
import type { TestHost } from "@synth/testing";
import { memoryPlugin } from "../../plugins/memory/mod.ts";
import type { FakeLlm } from "../fakes/llm/mod.ts";
import { llmHost, type LlmHostOptions } from "../llm/helpers.ts";

/** A host whose mind talks to the fake (OpenAI protocol by default). */
export function mindHost(fake: FakeLlm, options: LlmHostOptions = {}): Promise<TestHost> {
  return llmHost(fake, { ...options, plugins: [memoryPlugin, ...(options.plugins ?? [])] });
}

/** `POST /api/chat` and its JSON. */
export async function chat(
  host: TestHost,
  message: string,
  threadId?: string | null,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await host.request("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message, ...(threadId ? { thread_id: threadId } : {}) }),
  });
  return { status: response.status, body: await response.json() };
}
