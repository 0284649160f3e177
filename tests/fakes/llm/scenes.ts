/** Which provider protocol a request came in. */
export type Service = "anthropic" | "openai" | "ollama";

/** A scripted answer of the fake server (spec/llm.md §9). */
export interface Scene {
  match?: {
    /**
     * Which kind of request: chat (the default), embed, or the model
     * listing health probes use.
     */
    kind?: RequestKind;
    service?: Service;
    model?: string;
    module?: string;
    purpose?: string;
    lastUserIncludes?: string;
    hasTools?: boolean;
  };
  /** Uses before the scene is consumed. @default 1 */
  times?: number;
  reply?: {
    /** A string is chunked by 8 characters; a list gives the exact chunks. */
    text?: string | string[];
    toolCalls?: Array<{ name: string; args: unknown }>;
    usage?: { input: number; output: number } | "omit";
    stopReason?: string;
  };
  timing?: {
    firstTokenDelayMs?: number;
    chunkDelayMs?: number;
    /** In-process only: the answer starts once this settles (a test holds the model, no sleep). */
    heldUntil?: Promise<unknown>;
    /**
     * In-process only: each content frame (text or a tool-call piece) is sent once this settles
     * for its number (from 1), so a test can space frames out on its fake clock.
     */
    contentGate?: (count: number) => Promise<unknown>;
  };
  fault?:
    | {
      status: 400 | 401 | 404 | 413 | 429 | 500 | 503 | 529;
      retryAfter?: string;
      message?: string;
    }
    | { cutAfterChunks: number }
    /**
     * A broken chunk after the first content chunk; the stream ends there,
     * unless `resume` streams the rest of the reply after it.
     */
    | { malformed: "json" | "framing"; resume?: boolean }
    | { hangMs: number }
    | { midStreamError: string };
}

/** Chat, embeddings, or a model listing (`/v1/models`, `/api/tags`). */
export type RequestKind = "chat" | "embed" | "models";

/** What a request needs for matching. */
export interface RequestFacts {
  kind: RequestKind;
  service: Service;
  model: string;
  module: string | null;
  purpose: string | null;
  lastUser: string;
  hasTools: boolean;
}

/** Scenes keyed by purpose: a string is a text reply; a list is consumed in order. */
export type PurposeScript = Record<string, string | Scene | Scene[]>;

/** Turns a purpose script into scenes matching on `purpose`. */
export function scriptScenes(script: PurposeScript): Scene[] {
  return Object.entries(script).flatMap(([purpose, value]) => {
    const list = typeof value === "string"
      ? [{ reply: { text: value } }]
      : Array.isArray(value)
      ? value
      : [value];
    return list.map((scene) => ({ ...scene, match: { ...scene.match, purpose } }));
  });
}

/** The ordered, consumable list of scenes. */
export class SceneBook {
  #scenes: Array<{ scene: Scene; left: number }> = [];

  add(scenes: readonly Scene[], options: { first?: boolean } = {}): void {
    const entries = scenes.map((scene) => ({ scene, left: scene.times ?? 1 }));
    if (options.first) this.#scenes.unshift(...entries);
    else this.#scenes.push(...entries);
  }

  clear(): void {
    this.#scenes = [];
  }

  /** The first scene matching the request, consumed once; undefined for the default reply. */
  take(facts: RequestFacts): Scene | undefined {
    const index = this.#scenes.findIndex(({ scene }) => matches(scene, facts));
    if (index < 0) return undefined;
    const entry = this.#scenes[index]!;
    entry.left--;
    if (entry.left <= 0) this.#scenes.splice(index, 1);
    return entry.scene;
  }
}

function matches(scene: Scene, facts: RequestFacts): boolean {
  const match = scene.match ?? {};
  return (match.kind ?? "chat") === facts.kind &&
    (match.service === undefined || match.service === facts.service) &&
    (match.model === undefined || match.model === facts.model) &&
    (match.module === undefined || match.module === facts.module) &&
    (match.purpose === undefined || match.purpose === facts.purpose) &&
    (match.lastUserIncludes === undefined || facts.lastUser.includes(match.lastUserIncludes)) &&
    (match.hasTools === undefined || match.hasTools === facts.hasTools);
}

/** The reply when no scene matches: `fake:<model>:<first 40 characters of the last user message>`. */
export function defaultText(facts: RequestFacts): string {
  return `fake:${facts.model}:${facts.lastUser.slice(0, 40)}`;
}

/** Splits text into the chunks the fake streams. */
export function chunksOf(text: string | string[]): string[] {
  if (Array.isArray(text)) return text;
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += 8) chunks.push(text.slice(i, i + 8));
  return chunks;
}

/** A deterministic unit vector for a text (FNV-seeded xorshift), so embeddings are reproducible. */
export function fakeEmbedding(text: string, dims: number): number[] {
  let seed = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) seed = Math.imul(seed ^ text.charCodeAt(i), 0x01000193);
  let state = seed >>> 0 || 1;
  const vector = Array.from({ length: dims }, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) / 4_294_967_296) * 2 - 1;
  });
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
  return vector.map((value) => value / norm);
}
