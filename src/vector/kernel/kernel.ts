// AssemblyScript source of the vector index kernel (compiled by
// `deno task build:wasm` into kernel.wasm, which is committed). All
// arguments are byte offsets into the exported memory, which the
// TypeScript wrapper (src/vector/index.ts) lays out and grows.

/**
 * Int8 scan: for each slot i < n whose mask byte is set, writes
 * dot(q, row_i) × invScale_i as f32 to out[i]; masked slots get -Infinity.
 * Rows and the query are int8, dimPad (a multiple of 16) bytes each; the
 * query is widened once into `q16` (dimPad × 2 bytes of scratch), and two
 * rows are scanned per step.
 */
export function scanI8(
  q: usize,
  q16: usize,
  rows: usize,
  invScales: usize,
  mask: usize,
  n: i32,
  dimPad: i32,
  out: usize,
): void {
  for (let j = 0; j < dimPad; j += 16) {
    const a = v128.load(q + <usize>j);
    v128.store(q16 + (<usize>j << 1), i16x8.extend_low_i8x16_s(a));
    v128.store(q16 + (<usize>j << 1) + 16, i16x8.extend_high_i8x16_s(a));
  }
  const stride = <usize>dimPad;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const m0 = load<u8>(mask + <usize>i);
    const m1 = load<u8>(mask + <usize>i + 1);
    if ((m0 | m1) == 0) {
      store<f32>(out + (<usize>i << 2), -Infinity);
      store<f32>(out + (<usize>i << 2) + 4, -Infinity);
      continue;
    }
    const row0 = rows + <usize>i * stride;
    const row1 = row0 + stride;
    let acc0 = i32x4.splat(0);
    let acc1 = i32x4.splat(0);
    for (let j = 0; j < dimPad; j += 16) {
      const qlo = v128.load(q16 + (<usize>j << 1));
      const qhi = v128.load(q16 + (<usize>j << 1) + 16);
      const b0 = v128.load(row0 + <usize>j);
      const b1 = v128.load(row1 + <usize>j);
      acc0 = i32x4.add(acc0, i32x4.dot_i16x8_s(qlo, i16x8.extend_low_i8x16_s(b0)));
      acc0 = i32x4.add(acc0, i32x4.dot_i16x8_s(qhi, i16x8.extend_high_i8x16_s(b0)));
      acc1 = i32x4.add(acc1, i32x4.dot_i16x8_s(qlo, i16x8.extend_low_i8x16_s(b1)));
      acc1 = i32x4.add(acc1, i32x4.dot_i16x8_s(qhi, i16x8.extend_high_i8x16_s(b1)));
    }
    const sum0 = i32x4.extract_lane(acc0, 0) + i32x4.extract_lane(acc0, 1) +
      i32x4.extract_lane(acc0, 2) + i32x4.extract_lane(acc0, 3);
    const sum1 = i32x4.extract_lane(acc1, 0) + i32x4.extract_lane(acc1, 1) +
      i32x4.extract_lane(acc1, 2) + i32x4.extract_lane(acc1, 3);
    store<f32>(
      out + (<usize>i << 2),
      m0 == 0 ? -Infinity : <f32>sum0 * load<f32>(invScales + (<usize>i << 2)),
    );
    store<f32>(
      out + (<usize>i << 2) + 4,
      m1 == 0 ? -Infinity : <f32>sum1 * load<f32>(invScales + (<usize>i << 2) + 4),
    );
  }
  for (; i < n; i++) {
    const outAt = out + (<usize>i << 2);
    if (load<u8>(mask + <usize>i) == 0) {
      store<f32>(outAt, -Infinity);
      continue;
    }
    const row = rows + <usize>i * stride;
    let acc = i32x4.splat(0);
    for (let j = 0; j < dimPad; j += 16) {
      const b = v128.load(row + <usize>j);
      acc = i32x4.add(acc, i32x4.dot_i16x8_s(v128.load(q16 + (<usize>j << 1)), i16x8.extend_low_i8x16_s(b)));
      acc = i32x4.add(acc, i32x4.dot_i16x8_s(v128.load(q16 + (<usize>j << 1) + 16), i16x8.extend_high_i8x16_s(b)));
    }
    const sum = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) +
      i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
    store<f32>(outAt, <f32>sum * load<f32>(invScales + (<usize>i << 2)));
  }
}

/**
 * Exact float32 dots for m candidate slots: out[k] = dot(q, rows[idx[k]]).
 * Rows and the query are f32, dimPad floats each.
 */
export function dotF32Gather(
  q: usize,
  rows: usize,
  idx: usize,
  m: i32,
  dimPad: i32,
  out: usize,
): void {
  const rowBytes = <usize>dimPad << 2;
  for (let k = 0; k < m; k++) {
    const slot = load<i32>(idx + (<usize>k << 2));
    const row = rows + <usize>slot * rowBytes;
    let acc = f32x4.splat(0);
    for (let j = 0; j < dimPad; j += 4) {
      const offset = <usize>j << 2;
      acc = f32x4.add(acc, f32x4.mul(v128.load(q + offset), v128.load(row + offset)));
    }
    store<f32>(
      out + (<usize>k << 2),
      f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) +
        f32x4.extract_lane(acc, 3),
    );
  }
}

/**
 * Indices of the (at most) c highest finite scores among scores[0..n), in
 * no particular order, written to outIdx as i32; returns how many. A
 * min-heap of size c keeps it O(n log c).
 */
export function topK(scores: usize, n: i32, c: i32, outIdx: usize): i32 {
  let size = 0;
  for (let i = 0; i < n; i++) {
    const score = load<f32>(scores + (<usize>i << 2));
    if (score == -Infinity || isNaN(score)) continue;
    if (size < c) {
      // push, sift up
      let at = size++;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        const parentIdx = load<i32>(outIdx + (<usize>parent << 2));
        if (load<f32>(scores + (<usize>parentIdx << 2)) <= score) break;
        store<i32>(outIdx + (<usize>at << 2), parentIdx);
        at = parent;
      }
      store<i32>(outIdx + (<usize>at << 2), i);
    } else {
      const rootIdx = load<i32>(outIdx);
      if (score <= load<f32>(scores + (<usize>rootIdx << 2))) continue;
      // replace root, sift down
      let at = 0;
      for (;;) {
        const left = at * 2 + 1;
        if (left >= size) break;
        let child = left;
        const leftIdx = load<i32>(outIdx + (<usize>left << 2));
        let childScore = load<f32>(scores + (<usize>leftIdx << 2));
        const right = left + 1;
        if (right < size) {
          const rightIdx = load<i32>(outIdx + (<usize>right << 2));
          const rightScore = load<f32>(scores + (<usize>rightIdx << 2));
          if (rightScore < childScore) {
            child = right;
            childScore = rightScore;
          }
        }
        if (childScore >= score) break;
        store<i32>(outIdx + (<usize>at << 2), load<i32>(outIdx + (<usize>child << 2)));
        at = child;
      }
      store<i32>(outIdx + (<usize>at << 2), i);
    }
  }
  return size;
}
