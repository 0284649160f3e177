import { kernelModule } from "./kernel/kernel_module.js";

/** What the index keeps per vector for filtering, besides the vector. */
export interface SlotMeta {
  /** Owner id; null for agent-wide items. */
  owner: string | null;
  /** A small integer category (0–7), e.g. the memory kind. */
  kind: number;
  /** Epoch ms. */
  createdAt: number;
  /** Epoch ms, or null for never. */
  expiresAt: number | null;
  /** Flagged items are skipped unless the filter includes them. */
  flagged: boolean;
}

/** One vector to index. */
export interface VectorRow {
  /** The memory's integer id. */
  id: number;
  vector: Float32Array;
  meta: SlotMeta;
}

/** Which slots a search may return; everything is applied before the top-k cut. */
export interface SlotFilter {
  /** Allowed owners and, per owner, the allowed kinds (a bit per kind). */
  owners: ReadonlyArray<{ owner: string | null; kinds: number }>;
  /** Only items created at or after this time. */
  createdFrom?: number;
  /** Only items created before this time. */
  createdBefore?: number;
  /** Items whose `expiresAt` ≤ this are skipped. */
  now?: number;
  /** Include flagged items. @default false */
  includeFlagged?: boolean;
  /** Ids never returned (e.g. the messages already in the prompt window). */
  excludeIds?: ReadonlySet<number>;
}

/** One search result. */
export interface VectorHit {
  id: number;
  /** Cosine similarity from the exact float32 re-rank. */
  cosine: number;
}

/** Options for {@link createVectorIndex}. */
export interface CreateVectorIndexOptions {
  dims: number;
  /** Slots beyond this are refused (the caller keeps such items FTS-only). @default 1_000_000 */
  maxVectors?: number;
  /** Candidates re-ranked exactly: max(minCandidates, 4k). @default 64 */
  minCandidates?: number;
  /** Slots allocated at first. @default 4096 */
  initialCapacity?: number;
}

/** An in-memory k-NN index over unit vectors. */
export interface VectorIndex {
  readonly kind: "wasm-int8-rerank";
  readonly dims: number;
  /** Vectors indexed. */
  readonly size: number;
  /** Bytes of WebAssembly memory in use. */
  readonly memoryBytes: number;
  /** Adds or replaces; a zero vector removes. Returns false when the index is full. */
  upsert(row: VectorRow): boolean;
  /** Removes; unknown ids are ignored. */
  remove(id: number): void;
  /**
   * Changes an indexed row's expiry or flag (the filter's inputs) without
   * touching its vector; false for an unknown id.
   */
  updateMeta(id: number, meta: Partial<Pick<SlotMeta, "expiresAt" | "flagged">>): boolean;
  /** Whether an id is indexed. */
  has(id: number): boolean;
  /** The k most similar unit vectors that pass the filter, best first. */
  search(query: Float32Array, k: number, filter: SlotFilter): VectorHit[];
}

/** What a slot must be to pass a filter (its time, expiry aside). */
interface MaskTest {
  /** Allowed kinds (a bit per kind) by owner. */
  kinds: Map<string | null, number>;
  /** 1 for each allowed group (owner code × 8 + kind) of the owners known when last widened. */
  allowed: Uint8Array;
  skipFlagged: boolean;
  from: number;
  before: number;
}

/** A mask kept between searches (see `buildMask`). */
interface KeptMask {
  /** The filter, its time and excluded ids aside. */
  key: string;
  test: MaskTest;
  /** The time it was built for: slots expired by then stay out. */
  now: number;
  /** The earliest expiry of a slot that passes: from then on the mask is built again. */
  validUntil: number;
  /** A byte per slot, 1 when it passes. */
  bits: Uint8Array;
}

interface KernelExports {
  memory: WebAssembly.Memory;
  scanI8(
    q: number,
    q16: number,
    rows: number,
    inv: number,
    mask: number,
    n: number,
    dimPad: number,
    out: number,
  ): void;
  dotF32Gather(q: number, rows: number, idx: number, m: number, dimPad: number, out: number): void;
  topK(scores: number, n: number, c: number, outIdx: number): number;
}

const PAGE = 65_536;
/** Re-rank at most this many candidates (so k ≤ 1024). */
const MAX_CANDIDATES = 4_096;
const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

interface Layout {
  capacity: number;
  rowsI8: number;
  rowsF32: number;
  invScales: number;
  mask: number;
  scores: number;
  end: number;
}

/**
 * Creates an index backed by its own instance of the SIMD kernel: an int8
 * scan over every slot, then an exact float32 re-rank of the best
 * candidates. Vectors are L2-normalised on the way in, so scores are
 * cosines. Inserts and removals are incremental and synchronous.
 *
 * @example Index two vectors and find the nearer
 * ```ts
 * import { createVectorIndex } from "./index.ts";
 * const index = createVectorIndex({ dims: 3 });
 * const meta = { owner: "usr_1", kind: 0, createdAt: 0, expiresAt: null, flagged: false };
 * index.upsert({ id: 1, vector: new Float32Array([1, 0, 0]), meta });
 * index.upsert({ id: 2, vector: new Float32Array([0, 1, 0]), meta });
 * const [best] = index.search(new Float32Array([0.9, 0.1, 0]), 1, {
 *   owners: [{ owner: "usr_1", kinds: 1 }],
 * });
 * if (best?.id !== 1) throw new Error("wrong neighbour");
 * ```
 */
export function createVectorIndex(options: CreateVectorIndexOptions): VectorIndex {
  const { dims } = options;
  if (!Number.isInteger(dims) || dims <= 0) {
    throw new RangeError(
      `Cannot create a vector index: dims must be a positive integer (got ${dims})`,
    );
  }
  const maxVectors = options.maxVectors ?? 1_000_000;
  const minCandidates = options.minCandidates ?? 64;
  const dimPad = Math.ceil(dims / 16) * 16;
  const kernel = new WebAssembly.Instance(kernelModule, {}).exports as unknown as KernelExports;

  // Fixed regions first; per-slot regions after them move up as capacity grows.
  const qI8 = 0;
  const q16 = align16(qI8 + dimPad);
  const qF32 = align16(q16 + dimPad * 2);
  const candIdx = align16(qF32 + dimPad * 4);
  const candOut = align16(candIdx + MAX_CANDIDATES * 4);
  const fixedEnd = align16(candOut + MAX_CANDIDATES * 4);

  function layoutFor(capacity: number): Layout {
    const rowsI8 = fixedEnd;
    const rowsF32 = align16(rowsI8 + capacity * dimPad);
    const invScales = align16(rowsF32 + capacity * dimPad * 4);
    const mask = align16(invScales + capacity * 4);
    const scores = align16(mask + capacity);
    return {
      capacity,
      rowsI8,
      rowsF32,
      invScales,
      mask,
      scores,
      end: align16(scores + capacity * 4),
    };
  }

  let layout = layoutFor(Math.min(options.initialCapacity ?? 4_096, maxVectors));
  kernel.memory.grow(Math.ceil(layout.end / PAGE));
  let bytes = new Uint8Array(kernel.memory.buffer);

  // Per-slot bookkeeping in JavaScript.
  let slotIds = new Int32Array(layout.capacity).fill(-1);
  let groups = new Int32Array(layout.capacity);
  let createdAt = new Float64Array(layout.capacity);
  let expiresAt = new Float64Array(layout.capacity);
  let flagged = new Uint8Array(layout.capacity);
  const slotOf = new Map<number, number>();
  const freeSlots: number[] = [];
  let highWater = 0;
  const ownerCodeOf = new Map<string | null, number>();
  /**
   * The last search's mask before its excluded ids, and the filter it was built for. Each slot
   * change updates it, so a search with the same filter copies it instead of testing every slot;
   * it is built again for another filter, or once a slot that passed may have expired.
   */
  let kept: KeptMask | null = null;

  function ownerCode(owner: string | null): number {
    let code = ownerCodeOf.get(owner);
    if (code === undefined) {
      code = ownerCodeOf.size;
      ownerCodeOf.set(owner, code);
    }
    return code;
  }

  /** Whether a slot passes a filter (its excluded ids aside). */
  function slotPasses(slot: number, test: MaskTest, now: number): boolean {
    if (slotIds[slot]! < 0) return false;
    const group = groups[slot]!;
    // A group of an owner first seen after the test was made is looked up once.
    if (group >= test.allowed.length) widenAllowed(test);
    if (test.allowed[group] !== 1) return false;
    if (test.skipFlagged && flagged[slot] === 1) return false;
    const at = createdAt[slot]!;
    return at >= test.from && at < test.before && expiresAt[slot]! > now;
  }

  /** The allowed-group table for every owner code known now (a group is code × 8 + kind). */
  function widenAllowed(test: MaskTest) {
    const allowed = new Uint8Array(ownerCodeOf.size * 8);
    for (const [owner, kindBits] of test.kinds) {
      const code = ownerCodeOf.get(owner);
      if (code === undefined) continue;
      for (let kind = 0; kind < 8; kind++) {
        if ((kindBits >> kind) & 1) allowed[code * 8 + kind] = 1;
      }
    }
    test.allowed = allowed;
  }

  /** Keeps the kept mask in step with a slot whose id, owner, kind, time, expiry or flag changed. */
  function keepSlot(slot: number) {
    if (!kept) return;
    if (slot >= kept.bits.length) {
      const bits = new Uint8Array(layout.capacity);
      bits.set(kept.bits);
      kept.bits = bits;
    }
    const passes = slotPasses(slot, kept.test, kept.now);
    kept.bits[slot] = passes ? 1 : 0;
    if (passes) kept.validUntil = Math.min(kept.validUntil, expiresAt[slot]!);
  }

  function grow(): boolean {
    if (layout.capacity >= maxVectors) return false;
    const next = layoutFor(Math.min(layout.capacity * 2, maxVectors));
    const needed = Math.ceil(next.end / PAGE) - kernel.memory.buffer.byteLength / PAGE;
    if (needed > 0) kernel.memory.grow(needed);
    bytes = new Uint8Array(kernel.memory.buffer);
    // Move the kept regions, last first, so no region overwrites one not yet moved.
    bytes.copyWithin(next.invScales, layout.invScales, layout.invScales + layout.capacity * 4);
    bytes.copyWithin(next.rowsF32, layout.rowsF32, layout.rowsF32 + layout.capacity * dimPad * 4);
    bytes.copyWithin(next.rowsI8, layout.rowsI8, layout.rowsI8 + layout.capacity * dimPad);
    const extend = <T extends Int32Array | Uint8Array | Float64Array>(old: T, fill = 0): T => {
      const copy = new (old.constructor as new (n: number) => T)(next.capacity);
      copy.fill(fill);
      copy.set(old);
      return copy;
    };
    slotIds = extend(slotIds, -1);
    groups = extend(groups);
    createdAt = extend(createdAt);
    expiresAt = extend(expiresAt);
    flagged = extend(flagged);
    layout = next;
    return true;
  }

  /** Writes the unit vector as f32 and as int8 with its inverse scale. */
  function writeVector(unit: Float32Array, f32At: number, i8At: number): number {
    const f32 = new Float32Array(kernel.memory.buffer, f32At, dimPad);
    f32.fill(0);
    f32.set(unit);
    let max = 0;
    for (let j = 0; j < dims; j++) max = Math.max(max, Math.abs(unit[j]!));
    const scale = max > 0 ? 127 / max : 1;
    const i8 = new Int8Array(kernel.memory.buffer, i8At, dimPad);
    i8.fill(0);
    for (let j = 0; j < dims; j++) {
      i8[j] = Math.max(-127, Math.min(127, Math.round(unit[j]! * scale)));
    }
    return 1 / scale;
  }

  function normalised(vector: Float32Array): Float32Array | null {
    if (vector.length !== dims) {
      throw new RangeError(
        `Cannot index a vector of ${vector.length} dimensions in an index of ${dims}`,
      );
    }
    let norm = 0;
    for (let j = 0; j < dims; j++) norm += vector[j]! * vector[j]!;
    if (!(norm > 0) || !Number.isFinite(norm)) return null;
    const inverse = 1 / Math.sqrt(norm);
    const unit = new Float32Array(dims);
    for (let j = 0; j < dims; j++) unit[j] = vector[j]! * inverse;
    return unit;
  }

  function remove(id: number) {
    const slot = slotOf.get(id);
    if (slot === undefined) return;
    slotOf.delete(id);
    slotIds[slot] = -1;
    freeSlots.push(slot);
    keepSlot(slot);
  }

  /** Writes the filter's mask into the kernel's memory: the kept one when it still holds. */
  function buildMask(filter: SlotFilter): void {
    const mask = new Uint8Array(kernel.memory.buffer, layout.mask, highWater);
    const now = filter.now ?? -Infinity;
    const skipFlagged = !(filter.includeFlagged ?? false);
    const from = filter.createdFrom ?? -Infinity;
    const before = filter.createdBefore ?? Infinity;
    // String() keeps ±Infinity and NaN apart (JSON writes each as null).
    const key = JSON.stringify([filter.owners, skipFlagged, String(from), String(before)]);
    if (kept && kept.key === key && now >= kept.now && now < kept.validUntil) {
      mask.set(kept.bits.subarray(0, highWater));
    } else {
      const test: MaskTest = {
        kinds: new Map(),
        allowed: new Uint8Array(0),
        skipFlagged,
        from,
        before,
      };
      // An owner named twice may have the kinds of both entries.
      for (const { owner, kinds } of filter.owners) {
        test.kinds.set(owner, (test.kinds.get(owner) ?? 0) | kinds);
      }
      widenAllowed(test);
      const bits = new Uint8Array(layout.capacity);
      let validUntil = Infinity;
      for (let slot = 0; slot < highWater; slot++) {
        if (!slotPasses(slot, test, now)) continue;
        bits[slot] = 1;
        validUntil = Math.min(validUntil, expiresAt[slot]!);
      }
      kept = { key, test, now, validUntil, bits };
      mask.set(bits.subarray(0, highWater));
    }
    // The excluded ids are few (a thread's prompt window): their slots, not every slot, are looked up.
    for (const id of filter.excludeIds ?? []) {
      const slot = slotOf.get(id);
      if (slot !== undefined) mask[slot] = 0;
    }
  }

  return {
    kind: "wasm-int8-rerank",
    dims,
    get size() {
      return slotOf.size;
    },
    get memoryBytes() {
      return kernel.memory.buffer.byteLength;
    },

    upsert(row) {
      const unit = normalised(row.vector);
      if (!unit) {
        remove(row.id);
        return true;
      }
      let slot = slotOf.get(row.id);
      if (slot === undefined) {
        slot = freeSlots.pop();
        if (slot === undefined) {
          if (highWater >= layout.capacity && !grow()) return false;
          slot = highWater++;
        }
        slotOf.set(row.id, slot);
      }
      const inverse = writeVector(
        unit,
        layout.rowsF32 + slot * dimPad * 4,
        layout.rowsI8 + slot * dimPad,
      );
      new Float32Array(kernel.memory.buffer, layout.invScales, layout.capacity)[slot] = inverse;
      slotIds[slot] = row.id;
      groups[slot] = ownerCode(row.meta.owner) * 8 + (row.meta.kind & 7);
      createdAt[slot] = row.meta.createdAt;
      expiresAt[slot] = row.meta.expiresAt ?? Infinity;
      flagged[slot] = row.meta.flagged ? 1 : 0;
      keepSlot(slot);
      return true;
    },

    remove,

    updateMeta(id, meta) {
      const slot = slotOf.get(id);
      if (slot === undefined) return false;
      if (meta.expiresAt !== undefined) expiresAt[slot] = meta.expiresAt ?? Infinity;
      if (meta.flagged !== undefined) flagged[slot] = meta.flagged ? 1 : 0;
      keepSlot(slot);
      return true;
    },

    has(id) {
      return slotOf.has(id);
    },

    search(query, k, filter) {
      if (slotOf.size === 0 || k <= 0) return [];
      const unit = normalised(query);
      if (!unit) return [];
      writeVector(unit, qF32, qI8);
      buildMask(filter);
      kernel.scanI8(
        qI8,
        q16,
        layout.rowsI8,
        layout.invScales,
        layout.mask,
        highWater,
        dimPad,
        layout.scores,
      );
      const wanted = Math.min(Math.max(minCandidates, 4 * k), MAX_CANDIDATES);
      const found = kernel.topK(layout.scores, highWater, wanted, candIdx);
      kernel.dotF32Gather(qF32, layout.rowsF32, candIdx, found, dimPad, candOut);
      const candidates = new Int32Array(kernel.memory.buffer, candIdx, found);
      const exact = new Float32Array(kernel.memory.buffer, candOut, found);
      const hits: VectorHit[] = [];
      for (let i = 0; i < found; i++) {
        hits.push({ id: slotIds[candidates[i]!]!, cosine: exact[i]! });
      }
      hits.sort((a, b) => b.cosine - a.cosine || a.id - b.id);
      return hits.slice(0, k);
    },
  };
}
