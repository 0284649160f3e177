import { gaussian, type Random, seededRandom } from "../random.ts";

/** Options for {@link clusteredVectors}. */
export interface ClusteredVectorsOptions {
  count: number;
  dims: number;
  clusters: number;
  seed: number;
}

/**
 * Unit vectors drawn around random centres (noise σ = 0.75/√dims), the
 * clustered set of the platform measurements: closer to real embeddings
 * than uniform noise. Deterministic for a seed.
 */
export function clusteredVectors(options: ClusteredVectorsOptions): Float32Array[] {
  const random = seededRandom(options.seed);
  const centres = Array.from({ length: options.clusters }, () => randomUnit(random, options.dims));
  const sigma = 0.75 / Math.sqrt(options.dims);
  return Array.from({ length: options.count }, () => {
    const centre = centres[Math.floor(random() * centres.length)]!;
    const vector = new Float32Array(options.dims);
    for (let j = 0; j < options.dims; j++) vector[j] = centre[j]! + sigma * gaussian(random);
    return normalise(vector);
  });
}

/** A random unit vector. */
export function randomUnit(random: Random, dims: number): Float32Array {
  const vector = new Float32Array(dims);
  for (let j = 0; j < dims; j++) vector[j] = gaussian(random);
  return normalise(vector);
}

function normalise(vector: Float32Array): Float32Array {
  let norm = 0;
  for (const value of vector) norm += value * value;
  const inverse = 1 / Math.sqrt(norm);
  for (let j = 0; j < vector.length; j++) vector[j] = vector[j]! * inverse;
  return vector;
}

/** Exact top-k ids by inner product, in float64: the ground truth. */
export function exactTopK(
  vectors: readonly Float32Array[],
  query: Float32Array,
  k: number,
  allowed: (index: number) => boolean = () => true,
): number[] {
  const scored: Array<[number, number]> = [];
  vectors.forEach((vector, index) => {
    if (!allowed(index)) return;
    let dot = 0;
    for (let j = 0; j < vector.length; j++) dot += vector[j]! * query[j]!;
    scored.push([index, dot]);
  });
  scored.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  return scored.slice(0, k).map(([index]) => index);
}
