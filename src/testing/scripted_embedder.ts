import { lexicalVector } from "../llm/embeddings/lexical.ts";
import { type Embedder, embedderId } from "../llm/embeddings/types.ts";

/** Options for {@link scriptedEmbedder}. */
export interface ScriptedEmbedderOptions {
  provider?: string;
  model?: string;
  dims?: number;
  quality?: "semantic" | "lexical";
  /** Fail this many calls before answering. */
  failures?: number;
  /** Answer with vectors of this length instead of `dims` (a broken provider). */
  wrongDims?: number;
  /**
   * Scripted vectors by exact text (padded with zeros to `dims`), so a test
   * decides which texts are alike; other texts get lexical vectors.
   */
  vectors?: Readonly<Record<string, readonly number[]>>;
}

/**
 * A test embedder: lexical vectors under another name and dimension (so a
 * model change can be simulated), with scripted failures. Test code only.
 */
export function scriptedEmbedder(options: ScriptedEmbedderOptions = {}): Embedder & {
  calls: number;
  failuresLeft: number;
} {
  const provider = options.provider ?? "scripted";
  const model = options.model ?? "scripted-v1";
  const dims = options.dims ?? 384;
  const state = {
    provider,
    model,
    dims,
    quality: options.quality ?? "semantic" as const,
    id: embedderId(provider, model, dims),
    calls: 0,
    failuresLeft: options.failures ?? 0,
    embed(texts: readonly string[]) {
      state.calls++;
      if (state.failuresLeft > 0) {
        state.failuresLeft--;
        return Promise.reject(new Error("503 from the scripted embedder"));
      }
      return Promise.resolve(texts.map((text) => {
        const scripted = options.vectors?.[text];
        if (scripted) {
          const out = new Float32Array(dims);
          out.set(scripted.slice(0, dims));
          const norm = Math.hypot(...out);
          return norm > 0 ? out.map((value) => value / norm) : out;
        }
        const base = lexicalVector(text);
        const out = new Float32Array(options.wrongDims ?? dims);
        for (let i = 0; i < out.length; i++) out[i] = base[i % base.length]!;
        return out;
      }));
    },
  };
  return state;
}
