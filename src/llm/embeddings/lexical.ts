import { STOPWORDS, tokenize } from "../../text.ts";
import { type Embedder, embedderId } from "./types.ts";

/** Dimensions of the lexical space. */
export const LEXICAL_DIMS = 384;
/** Model name; any change to the algorithm needs a new one. */
export const LEXICAL_MODEL = "lexical-hash-v1";

const encoder = new TextEncoder();

function fnv1a32(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (const byte of bytes) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function fmix32(value: number): number {
  let hash = value;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/**
 * The local feature-hashing embedding of one text: word, word-pair and
 * character-trigram features hashed into 384 signed buckets, weighted by
 * `base × (1 + ln(count))`, L2-normalised. It captures shared words, not
 * meaning. An empty text gives the zero vector.
 */
export function lexicalVector(text: string): Float32Array {
  const tokens = tokenize(text).filter((token) => !STOPWORDS.has(token));
  const features = new Map<string, { base: number; count: number }>();
  const add = (feature: string, base: number) => {
    const entry = features.get(feature);
    if (entry) entry.count++;
    else features.set(feature, { base, count: 1 });
  };
  tokens.forEach((token, index) => {
    add(`w:${token}`, 1);
    const next = tokens[index + 1];
    if (next !== undefined) add(`b:${token} ${next}`, 0.5);
    if (token.length >= 2) {
      const padded = [...`#${token}#`];
      for (let i = 0; i + 3 <= padded.length; i++) {
        add(`c:${padded.slice(i, i + 3).join("")}`, 0.25);
      }
    }
  });
  const vector = new Float32Array(LEXICAL_DIMS);
  for (const [feature, { base, count }] of features) {
    const mixed = fmix32(fnv1a32(encoder.encode(feature)));
    const sign = mixed & 0x80000000 ? -1 : 1;
    vector[mixed % LEXICAL_DIMS] = vector[mixed % LEXICAL_DIMS]! +
      sign * base * (1 + Math.log(count));
  }
  let norm = 0;
  for (const value of vector) norm += value * value;
  if (norm > 0) {
    const inverse = 1 / Math.sqrt(norm);
    for (let j = 0; j < LEXICAL_DIMS; j++) vector[j] = vector[j]! * inverse;
  }
  return vector;
}

/** The default embedder: local, no network, labelled "lexical" wherever shown. */
export function createLexicalEmbedder(): Embedder {
  return {
    provider: "lexical",
    model: LEXICAL_MODEL,
    dims: LEXICAL_DIMS,
    quality: "lexical",
    id: embedderId("lexical", LEXICAL_MODEL, LEXICAL_DIMS),
    embed: (texts) => Promise.resolve(texts.map(lexicalVector)),
  };
}
