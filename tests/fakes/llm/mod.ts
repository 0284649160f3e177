/**
 * A local fake LLM server speaking the Anthropic Messages, OpenAI Chat
 * Completions/Embeddings and Ollama wire protocols, validating requests
 * the way the real services do, with scriptable replies and faults
 * (spec/llm.md §9). Test and benchmark code only: a lint rule keeps it out
 * of production code.
 *
 * Run it as a process with `deno task fake-llm [--port N] [--scenes FILE]`.
 *
 * @module
 */
import {
  anthropic,
  type Frame,
  ollama,
  openai,
  type Protocol,
  type ReplyParts,
} from "./protocols.ts";
import {
  chunksOf,
  defaultText,
  fakeEmbedding,
  type PurposeScript,
  type RequestFacts,
  type Scene,
  SceneBook,
  scriptScenes,
  type Service,
} from "./scenes.ts";

export type { PurposeScript, Scene, Service } from "./scenes.ts";

/** One request the fake received. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
  service: Service | null;
}

/** Options for {@link startFakeLlm}. */
export interface StartFakeLlmOptions {
  /** @default 0 (a free port) */
  port?: number;
  scenes?: Scene[];
  /** Models `/api/tags` lists (Ollama). @default ["llama3.1:8b", "nomic-embed-text"] */
  ollamaModels?: string[];
}

/** A running fake. */
export interface FakeLlm extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Adds scenes (consumed in order). */
  scene(...scenes: Scene[]): void;
  /** Adds scenes before every other (a one-off reply over a standing script). */
  sceneFirst(...scenes: Scene[]): void;
  /** Adds scenes keyed by `x-synth-purpose`. */
  script(script: PurposeScript): void;
  /** Every request so far. */
  requests(): RecordedRequest[];
  /** Forgets scenes and requests. */
  reset(): void;
  /** Number of connections cut short or aborted by the client. */
  readonly aborted: number;
  /** Resolves when the next stream is cancelled by its client (or cut by a fault). */
  nextAbort(): Promise<void>;
  /** Resolves once `count` requests matching `filter` have arrived (no polling, no sleep). */
  untilRequests(count: number, filter?: (request: RecordedRequest) => boolean): Promise<void>;
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return "";
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i] as { role?: string; content?: unknown };
    if (message.role !== "user") continue;
    if (typeof message.content === "string") return message.content;
    if (Array.isArray(message.content)) {
      const text = message.content.find((block: { type?: string }) => block.type === "text") as
        | { text?: string }
        | undefined;
      if (text?.text) return text.text;
    }
  }
  return "";
}

/** Checks an Anthropic request as the service would; returns an error message or null. */
function checkAnthropic(headers: Headers, body: Record<string, unknown>): string | null {
  if (!headers.get("x-api-key") && !/^Bearer \S+/.test(headers.get("authorization") ?? "")) {
    return "x-api-key header is required";
  }
  if (!headers.get("anthropic-version")) return "anthropic-version header is required";
  if (typeof body.model !== "string") return "model: Field required";
  if (typeof body.max_tokens !== "number") return "max_tokens: Field required";
  if (typeof body.temperature === "number" && (body.temperature < 0 || body.temperature > 1)) {
    return "temperature: range: 0..1";
  }
  const messages = body.messages as Array<{ role: string; content: unknown }> | undefined;
  if (!Array.isArray(messages) || messages.length === 0) {
    return "messages: at least one message is required";
  }
  if (messages[0]!.role !== "user") return 'messages: first message must use the "user" role';
  const toolUses = new Set<string>();
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    if (message.role !== "user" && message.role !== "assistant") {
      return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    }
    if (i > 0 && messages[i - 1]!.role === message.role) {
      return 'messages: roles must alternate between "user" and "assistant"';
    }
    if (Array.isArray(message.content)) {
      for (
        const block of message.content as Array<{ type: string; id?: string; tool_use_id?: string }>
      ) {
        if (block.type === "tool_use" && block.id) toolUses.add(block.id);
        if (block.type === "tool_result" && !toolUses.has(block.tool_use_id ?? "")) {
          return `messages.${i}: tool_result block(s) provided without a matching tool_use`;
        }
      }
    }
  }
  return null;
}

/** Checks an OpenAI chat request; returns an error message or null. */
function checkOpenAi(headers: Headers, body: Record<string, unknown>): string | null {
  if (!/^Bearer \S+/.test(headers.get("authorization") ?? "")) {
    return "You didn't provide an API key.";
  }
  if (typeof body.model !== "string") return "you must provide a model parameter";
  if (body.max_tokens !== undefined && body.max_completion_tokens !== undefined) {
    return "max_tokens and max_completion_tokens cannot both be set";
  }
  if (typeof body.temperature === "number" && (body.temperature < 0 || body.temperature > 2)) {
    return "temperature must be between 0 and 2";
  }
  const messages = body.messages as Array<
    { role: string; tool_call_id?: string; tool_calls?: Array<{ id: string }> }
  >;
  if (!Array.isArray(messages) || messages.length === 0) {
    return "messages must be a non-empty array";
  }
  const calls = new Set<string>();
  for (const message of messages) {
    for (const call of message.tool_calls ?? []) calls.add(call.id);
    if (message.role === "tool" && !calls.has(message.tool_call_id ?? "")) {
      return "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.";
    }
  }
  return null;
}

/** Checks an Ollama chat request; returns an error message or null. */
function checkOllama(
  body: Record<string, unknown>,
  models: readonly string[],
): { status: number; message: string } | null {
  if (body.temperature !== undefined) {
    return { status: 400, message: 'json: unknown field "temperature"; set it in options' };
  }
  if (typeof body.model !== "string") return { status: 400, message: "model is required" };
  if (!models.includes(body.model)) {
    return { status: 404, message: `model "${body.model}" not found, try pulling it first` };
  }
  return null;
}

/** Starts the fake on 127.0.0.1. */
export function startFakeLlm(options: StartFakeLlmOptions = {}): Promise<FakeLlm> {
  const book = new SceneBook();
  book.add(options.scenes ?? []);
  const ollamaModels = options.ollamaModels ?? ["llama3.1:8b", "nomic-embed-text"];
  let recorded: RecordedRequest[] = [];
  let aborted = 0;
  let abortWaiters: Array<() => void> = [];
  let requestWaiters: Array<{ check: () => boolean; resolve: () => void }> = [];
  const countAbort = () => {
    aborted++;
    for (const resolve of abortWaiters) resolve();
    abortWaiters = [];
  };
  let callId = 0;
  const controller = new AbortController();

  function reply(
    protocol: Protocol,
    facts: RequestFacts,
    stream: boolean,
  ): Response | Promise<Response> {
    const scene = book.take(facts);
    const fault = scene?.fault;
    if (fault && "status" in fault) {
      const headers: Record<string, string> = fault.retryAfter
        ? { "retry-after": fault.retryAfter }
        : {};
      return json(
        fault.status,
        protocol.error(fault.status, fault.message ?? `fake ${fault.status}`),
        headers,
      );
    }
    const text = scene?.reply?.text ?? (scene?.reply?.toolCalls ? "" : defaultText(facts));
    const toolCalls = (scene?.reply?.toolCalls ?? []).map((call) => ({
      id: protocol.service === "anthropic" ? `toolu_${++callId}` : `call_${++callId}`,
      ...call,
    }));
    const chunks = chunksOf(text);
    const usage = scene?.reply?.usage === "omit" ? null : scene?.reply?.usage ??
      { input: Math.ceil(facts.lastUser.length / 4) + 10, output: Math.max(1, chunks.length) };
    const parts: ReplyParts = {
      model: facts.model,
      chunks,
      toolCalls,
      usage,
      stopReason: scene?.reply?.stopReason ?? protocol.stopFor(toolCalls.length > 0),
    };
    const hangMs = fault && "hangMs" in fault ? fault.hangMs : 0;
    const first = scene?.timing?.firstTokenDelayMs ?? 0;
    const between = scene?.timing?.chunkDelayMs ?? 0;
    const held = scene?.timing?.heldUntil;
    if (!stream) {
      return Promise.all([held, sleep(hangMs + first, controller.signal)])
        .then(() => json(200, protocol.body(parts)));
    }
    let frames: Frame[] = protocol.frames(parts);
    if (fault && "malformed" in fault) {
      const at = frames.findIndex((frame) => frame.kind === "content");
      const bad: Frame = { kind: "content", data: protocol.malformed(fault.malformed) };
      frames = [...frames.slice(0, at + 1), bad, ...(fault.resume ? frames.slice(at + 1) : [])];
    }
    if (fault && "midStreamError" in fault) {
      const at = frames.findIndex((frame) => frame.kind === "content");
      frames = [...frames.slice(0, at + 1), {
        kind: "tail",
        data: protocol.streamError(fault.midStreamError),
      }];
    }
    const cutAfter = fault && "cutAfterChunks" in fault ? fault.cutAfterChunks : Infinity;
    let index = 0;
    let content = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(stream) {
        if (index === 0) await Promise.all([held, sleep(hangMs + first, controller.signal)]);
        else if (between > 0) await sleep(between, controller.signal);
        const frame = frames[index++];
        if (!frame) return stream.close();
        if (frame.kind === "content") await scene?.timing?.contentGate?.(content + 1);
        if (frame.kind === "content" && ++content > cutAfter) {
          countAbort();
          stream.error(new Error("cut by the fake"));
          return;
        }
        stream.enqueue(encoder.encode(frame.data));
        if (index === frames.length) stream.close();
      },
      cancel() {
        countAbort();
      },
    });
    return new Response(body, {
      headers: { "content-type": protocol.streamType, "cache-control": "no-cache" },
    });
  }

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname;
    const headers = Object.fromEntries(
      [...request.headers].map(([key, value]) => [key.toLowerCase(), value]),
    );
    let body: unknown = null;
    if (request.method === "POST") {
      const text = await request.text();
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        body = text;
      }
    }
    const service: Service | null = path.startsWith("/api/")
      ? "ollama"
      : path === "/v1/messages" || (path === "/v1/models" && headers["anthropic-version"])
      ? "anthropic"
      : path.startsWith("/v1/")
      ? "openai"
      : null;
    if (!path.startsWith("/__fake/")) {
      recorded.push({ method: request.method, path, headers, body, service });
      requestWaiters = requestWaiters.filter((waiter) => {
        if (!waiter.check()) return true;
        waiter.resolve();
        return false;
      });
    }

    if (path === "/__fake/scenes" && request.method === "POST") {
      const scenes = body as Scene[] | PurposeScript;
      book.add(Array.isArray(scenes) ? scenes : scriptScenes(scenes));
      return json(200, { ok: true });
    }
    if (path === "/__fake/reset" && request.method === "POST") {
      book.clear();
      recorded = [];
      return json(200, { ok: true });
    }
    if (path === "/__fake/requests") return json(200, recorded);

    const payload = (body ?? {}) as Record<string, unknown>;
    const facts = (
      model: unknown,
      messages: unknown,
      tools: unknown,
      kind: RequestFacts["kind"] = "chat",
    ): RequestFacts => ({
      kind,
      service: service!,
      model: String(model ?? ""),
      module: headers["x-synth-module"] ?? null,
      purpose: headers["x-synth-purpose"] ?? null,
      lastUser: lastUserText(messages),
      hasTools: Array.isArray(tools) && tools.length > 0,
    });

    if (path === "/v1/messages" && request.method === "POST") {
      const problem = checkAnthropic(request.headers, payload);
      if (problem) return json(400, anthropic.error(400, problem));
      return reply(
        anthropic,
        facts(payload.model, payload.messages, payload.tools),
        payload.stream === true,
      );
    }
    if (path === "/v1/chat/completions" && request.method === "POST") {
      const problem = checkOpenAi(request.headers, payload);
      if (problem) return json(400, openai.error(400, problem));
      return reply(
        openai,
        facts(payload.model, payload.messages, payload.tools),
        payload.stream === true,
      );
    }
    if (path === "/v1/embeddings" && request.method === "POST") {
      if (!/^Bearer \S+/.test(request.headers.get("authorization") ?? "")) {
        return json(401, openai.error(401, "You didn't provide an API key."));
      }
      const scene = book.take(facts(payload.model, [], [], "embed"));
      if (scene?.fault && "status" in scene.fault) {
        return json(
          scene.fault.status,
          openai.error(scene.fault.status, scene.fault.message ?? "fake error"),
        );
      }
      const inputs = Array.isArray(payload.input)
        ? payload.input as string[]
        : [String(payload.input)];
      const dims = typeof payload.dimensions === "number"
        ? payload.dimensions
        : payload.model === "text-embedding-3-large"
        ? 3072
        : 1536;
      return json(200, {
        object: "list",
        data: inputs.map((text, index) => ({
          object: "embedding",
          index,
          embedding: fakeEmbedding(text, dims),
        })),
        model: payload.model,
        usage: {
          prompt_tokens: inputs.join(" ").length / 4 | 0,
          total_tokens: inputs.join(" ").length / 4 | 0,
        },
      });
    }
    if (path === "/v1/models" && request.method === "GET") {
      if (service === "anthropic") {
        if (!headers["x-api-key"] && !headers["authorization"]) {
          return json(401, anthropic.error(401, "invalid x-api-key"));
        }
        const scene = book.take(facts("models", [], [], "models"));
        if (scene?.fault && "status" in scene.fault) {
          return json(
            scene.fault.status,
            anthropic.error(scene.fault.status, scene.fault.message ?? "fake error"),
          );
        }
        return json(200, {
          data: [{ type: "model", id: "claude-sonnet-4-6", display_name: "Claude" }],
          has_more: false,
        });
      }
      if (!/^Bearer \S+/.test(headers["authorization"] ?? "")) {
        return json(401, openai.error(401, "You didn't provide an API key."));
      }
      const scene = book.take(facts("models", [], [], "models"));
      if (scene?.fault && "status" in scene.fault) {
        return json(
          scene.fault.status,
          openai.error(scene.fault.status, scene.fault.message ?? "fake error"),
        );
      }
      return json(200, {
        object: "list",
        data: [{ id: "gpt-5.4-mini", object: "model", owned_by: "fake" }],
      });
    }
    if (path === "/api/chat" && request.method === "POST") {
      const problem = checkOllama(payload, ollamaModels);
      if (problem) return json(problem.status, ollama.error(problem.status, problem.message));
      return reply(
        ollama,
        facts(payload.model, payload.messages, payload.tools),
        payload.stream !== false,
      );
    }
    if (path === "/api/embed" && request.method === "POST") {
      if (!ollamaModels.includes(String(payload.model))) {
        return json(404, { error: `model "${payload.model}" not found, try pulling it first` });
      }
      const scene = book.take(facts(payload.model, [], [], "embed"));
      if (scene?.fault && "status" in scene.fault) {
        return json(
          scene.fault.status,
          ollama.error(scene.fault.status, scene.fault.message ?? "fake error"),
        );
      }
      const inputs = Array.isArray(payload.input)
        ? payload.input as string[]
        : [String(payload.input)];
      const dims = typeof payload.dimensions === "number" ? payload.dimensions : 768;
      return json(200, {
        model: payload.model,
        embeddings: inputs.map((text) => fakeEmbedding(text, dims)),
      });
    }
    if (path === "/api/tags" && request.method === "GET") {
      const scene = book.take(facts("models", [], [], "models"));
      if (scene?.fault && "status" in scene.fault) {
        return json(
          scene.fault.status,
          ollama.error(scene.fault.status, scene.fault.message ?? "fake error"),
        );
      }
      return json(200, {
        models: ollamaModels.map((name) => ({ name, model: name, size: 1, digest: "fake" })),
      });
    }
    if (path === "/api/version" && request.method === "GET") return json(200, { version: "0.6.0" });
    return json(404, { error: `the fake has no route ${request.method} ${path}` });
  }

  const listening = Promise.withResolvers<void>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    signal: controller.signal,
    onListen: () => listening.resolve(),
  }, handle);

  const fake: FakeLlm = {
    url: `http://127.0.0.1:${server.addr.port}`,
    scene: (...scenes) => book.add(scenes),
    sceneFirst: (...scenes) => book.add(scenes, { first: true }),
    script: (script) => book.add(scriptScenes(script)),
    requests: () => recorded,
    reset() {
      book.clear();
      recorded = [];
    },
    get aborted() {
      return aborted;
    },
    nextAbort() {
      const { promise, resolve } = Promise.withResolvers<void>();
      abortWaiters.push(resolve);
      return promise;
    },
    untilRequests(count, filter = () => true) {
      const check = () => recorded.filter(filter).length >= count;
      if (check()) return Promise.resolve();
      const { promise, resolve } = Promise.withResolvers<void>();
      requestWaiters.push({ check, resolve });
      return promise;
    },
    async close() {
      controller.abort();
      await server.finished;
    },
    [Symbol.asyncDispose]: () => fake.close(),
  };
  return listening.promise.then(() => fake);
}

if (import.meta.main) {
  const args = Deno.args;
  const port = args.includes("--port") ? Number(args[args.indexOf("--port") + 1]) : 0;
  const scenesFile = args.includes("--scenes") ? args[args.indexOf("--scenes") + 1] : undefined;
  const scenes = scenesFile ? JSON.parse(await Deno.readTextFile(scenesFile)) : [];
  const fake = await startFakeLlm({
    port,
    scenes: Array.isArray(scenes) ? scenes : scriptScenes(scenes),
  });
  // deno-lint-ignore no-console
  console.log(`FAKE_LLM_URL=${fake.url}`);
}
