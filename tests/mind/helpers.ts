/**
 * A test host with the mind, the memory plugin and the fake LLM server.
 */
import type { TestHost } from "@synth/testing";
import { BUILTIN_PLUGINS } from "../../src/builtin_plugins.ts";
import type { FakeLlm, RecordedRequest } from "../fakes/llm/mod.ts";
import { chatRequests, llmHost, type LlmHostOptions } from "../llm/helpers.ts";

/**
 * A host with the server's built-in plugins (memory and the psyche
 * modules) whose mind talks to the fake (OpenAI protocol by default).
 */
/** An RFC 3339 UTC time with milliseconds, as every API time is (spec/server.md §2). */
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function mindHost(fake: FakeLlm, options: LlmHostOptions = {}): Promise<TestHost> {
  // A plugin given with a built-in's id replaces it (a test's own configuration of it).
  const given = new Set((options.plugins ?? []).map((plugin) => plugin.manifest.id));
  const builtins = BUILTIN_PLUGINS.filter((plugin) => !given.has(plugin.manifest.id));
  return llmHost(fake, { ...options, plugins: [...builtins, ...(options.plugins ?? [])] });
}

/** `POST /api/chat` and its JSON. */
export async function chat(
  host: Pick<TestHost, "request">,
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

/** `POST /api/threads` {}: a new thread of the caller's, its id. */
export async function newThread(host: TestHost): Promise<string> {
  const response = await host.request("/api/threads", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  return (await response.json()).id as string;
}

/** The requests of the reply calls (not forecasts or other background work). */
export function replyRequests(fake: FakeLlm): RecordedRequest[] {
  return chatRequests(fake).filter((request) => request.headers["x-synth-purpose"] === "reply");
}
