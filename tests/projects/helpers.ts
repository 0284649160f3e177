/**
 * Helpers of the project tests: a host with the built-in plugins (GDIL
 * included) talking to the fake LLM, JSON requests, and waiting for a
 * queued turn to end through the bus (no polling, no sleeping).
 */
import type { TestHost } from "@synth/testing";
import type { FakeLlm, Scene } from "../fakes/llm/mod.ts";
import type { LlmHostOptions } from "../llm/helpers.ts";
import { mindHost } from "../mind/helpers.ts";

/** A host whose GDIL steps use the reply role's fake. */
export function projectHost(fake: FakeLlm, options: LlmHostOptions = {}): Promise<TestHost> {
  return mindHost(fake, options);
}

/** A JSON request through the app. */
export async function api(
  host: Pick<TestHost, "request">,
  method: string,
  path: string,
  body?: unknown,
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any }> {
  const response = await host.request(path, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

/** Resolves when turn `turnId` completes or fails, with its status and error code. */
export function turnEnd(
  host: TestHost,
  turnId: string,
): Promise<{ status: "completed" | "failed" | "cancelled"; code?: string }> {
  const { promise, resolve } = Promise.withResolvers<
    { status: "completed" | "failed" | "cancelled"; code?: string }
  >();
  const stop = host.kernel.bus.subscribe("mind.turn.event", (event) => {
    const turn = event.data.event as { type: string; turnId: string; code?: string };
    if (turn.turnId !== turnId) return;
    if (turn.type === "chat.done") {
      stop();
      resolve({ status: "completed" });
    } else if (turn.type === "turn.failed") {
      stop();
      resolve({ status: "failed", ...(turn.code ? { code: turn.code } : {}) });
    } else if (turn.type === "turn.cancelled") {
      stop();
      resolve({ status: "cancelled" });
    }
  });
  return promise;
}

/** A valid JSON answer for a step, as the fake returns it. */
export const answer = (value: unknown): Scene => ({ reply: { text: JSON.stringify(value) } });

/** A plan of `n` tasks in a chain (or with the given dependencies). */
export function planOf(n: number, deps?: Record<number, number[]>): Record<string, unknown> {
  return {
    name: "Greeter CLI",
    brief: "Build a small command-line tool that greets people by name, tested and packaged.",
    endTransformation: "From nothing to a packaged greeter",
    tasks: Array.from({ length: n }, (_, i) => ({
      key: `t${i + 1}`,
      name: `Task ${i + 1}`,
      description: `Do part ${i + 1}`,
      priority: Math.min(10, i + 1),
      dependsOn: (deps?.[i + 1] ?? (i === 0 ? [] : [i])).map((d) => `t${d}`),
      estimate: { iterations: 2, hours: 2 },
      milestone: i === n - 1,
    })),
    confirmationQuestion: "Shall I start?",
  };
}

/** An execute step that writes `files`, then reports `progress`. */
export function writes(files: Record<string, string>, progress: number): Scene[] {
  return [
    {
      reply: {
        toolCalls: Object.entries(files).map(([path, content]) => ({
          name: "file_write",
          args: { path, content, mode: "overwrite" },
        })),
      },
    },
    answer({
      output: "Done.",
      explanation: "",
      questions: [],
      taskProgress: progress,
      blockers: [],
    }),
  ];
}
