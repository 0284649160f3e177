/** Whether an embedding captures meaning or only shared words. */
export type EmbeddingQuality = "semantic" | "lexical";

/** Turns texts into vectors of one fixed space. */
export interface Embedder {
  /** `lexical`, `openai`, `ollama`… */
  readonly provider: string;
  readonly model: string;
  readonly dims: number;
  readonly quality: EmbeddingQuality;
  /** `<provider>/<model>/<dims>`, the vector space's name. */
  readonly id: string;
  /** One L2-normalised vector per text (a zero vector when a text has no content). */
  embed(texts: readonly string[], options?: { signal?: AbortSignal }): Promise<Float32Array[]>;
}

/** The id of an embedding space. */
export function embedderId(provider: string, model: string, dims: number): string {
  return `${provider}/${model}/${dims}`;
}
