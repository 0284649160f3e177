import { BoundedMap } from "../../bounded_map.ts";
import { STOPWORDS, tokenize } from "../../text.ts";
import { type Embedder, embedderId } from "./types.ts";

/** Dimensions of the lexical space. */
export const LEXICAL_DIMS = 384;
/** Model name; any change to the algorithm needs a new one. */
export const LEXICAL_MODEL = "lexical-hash-v1";

const FNV_OFFSET = 0x811c9dc5;

/** Continues an FNV-1a hash over the UTF-8 bytes of `text`. */
function fnvUpdate(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (code < 0x80) {
      h = Math.imul(h ^ code, 0x01000193);
    } else if (code < 0x800) {
      h = Math.imul(h ^ (0xc0 | (code >> 6)), 0x01000193);
      h = Math.imul(h ^ (0x80 | (code & 0x3f)), 0x01000193);
    } else if (code < 0x10000) {
      h = Math.imul(h ^ (0xe0 | (code >> 12)), 0x01000193);
      h = Math.imul(h ^ (0x80 | ((code >> 6) & 0x3f)), 0x01000193);
      h = Math.imul(h ^ (0x80 | (code & 0x3f)), 0x01000193);
    } else {
      h = Math.imul(h ^ (0xf0 | (code >> 18)), 0x01000193);
      h = Math.imul(h ^ (0x80 | ((code >> 12) & 0x3f)), 0x01000193);
      h = Math.imul(h ^ (0x80 | ((code >> 6) & 0x3f)), 0x01000193);
      h = Math.imul(h ^ (0x80 | (code & 0x3f)), 0x01000193);
    }
  }
  return h;
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

const WORD = fnvUpdate(FNV_OFFSET, "w:");
const PAIR = fnvUpdate(FNV_OFFSET, "b:");
const TRIGRAM = fnvUpdate(FNV_OFFSET, "c:");

/**
 * The local feature-hashing embedding of one text: word, word-pair and
 * character-trigram features (`w:<t>`, `b:<t1> <t2>`, `c:<xyz>` of
 * `#<t>#`) hashed with FNV-1a and fmix32 into 384 signed buckets, weighted
 * by `base × (1 + ln(count))`, L2-normalised. It captures shared words, not
 * meaning. An empty text gives the zero vector.
 */
export function lexicalVector(text: string): Float32Array {
  const tokens = tokenize(text).filter((token) => !STOPWORDS.has(token));
  // Features are keyed by their hash; the base weight rides along.
  const counts = new Map<number, number>();
  const bases = new Map<number, number>();
  const add = (hash: number, base: number) => {
    counts.set(hash, (counts.get(hash) ?? 0) + 1);
    bases.set(hash, base);
  };
  for (let index = 0; index < tokens.length; index++) {
    const token = tokens[index]!;
    add(fnvUpdate(WORD, token) >>> 0, 1);
    const next = tokens[index + 1];
    if (next !== undefined) add(fnvUpdate(fnvUpdate(fnvUpdate(PAIR, token), " "), next) >>> 0, 0.5);
    if (token.length >= 2) {
      const chars = Array.from(`#${token}#`);
      for (let i = 0; i + 3 <= chars.length; i++) {
        add(fnvUpdate(TRIGRAM, chars[i]! + chars[i + 1]! + chars[i + 2]!) >>> 0, 0.25);
      }
    }
  }
  const vector = new Float32Array(LEXICAL_DIMS);
  for (const [hash, count] of counts) {
    const mixed = fmix32(hash);
    const sign = mixed & 0x80000000 ? -1 : 1;
    const bucket = mixed % LEXICAL_DIMS;
    vector[bucket] = vector[bucket]! + sign * bases.get(hash)! * (1 + Math.log(count));
  }
  let norm = 0;
  for (const value of vector) norm += value * value;
  if (norm > 0) {
    const inverse = 1 / Math.sqrt(norm);
    for (let j = 0; j < LEXICAL_DIMS; j++) vector[j] = vector[j]! * inverse;
  }
  return vector;
}

/** Texts up to this long are remembered (the history and recalled items recur every turn). */
const CACHED_TEXT_CHARS = 2_000;

/** The default embedder: local, no network, labelled "lexical" wherever shown. */
export function createLexicalEmbedder(): Embedder {
  const cache = new BoundedMap<string, Float32Array>(2_048);
  const vectorOf = (text: string) => {
    if (text.length > CACHED_TEXT_CHARS) return lexicalVector(text);
    let vector = cache.get(text);
    if (!vector) cache.set(text, vector = lexicalVector(text));
    return vector.slice(); // callers may write into theirs
  };
  return {
    provider: "lexical",
    model: LEXICAL_MODEL,
    dims: LEXICAL_DIMS,
    quality: "lexical",
    id: embedderId("lexical", LEXICAL_MODEL, LEXICAL_DIMS),
    embed: (texts) => Promise.resolve(texts.map(vectorOf)),
  };
}
