/**
 * JSON merge patches (RFC 7396) between two JSON values: what `state.delta`
 * carries, so a client applies one object instead of refetching the state.
 *
 * @module
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function same(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) =>
    Object.hasOwn(b, key) &&
    same((a as Record<string, Json>)[key]!, (b as Record<string, Json>)[key]!)
  );
}

/**
 * The patch that turns `before` into `after`, or `undefined` when they are
 * equal. Arrays are replaced whole; a removed key becomes `null` (so a
 * `null` value in `after` cannot be told from a removal — state never
 * needs the difference: its keys are fixed).
 */
export function mergePatch(before: unknown, after: unknown): unknown {
  const from = before as Json;
  const to = after as Json;
  if (!isObject(from) || !isObject(to)) return same(from, to) ? undefined : to;
  const patch: Record<string, Json> = {};
  for (const key of Object.keys(from)) {
    if (!Object.hasOwn(to, key)) patch[key] = null;
  }
  for (const [key, value] of Object.entries(to)) {
    if (!Object.hasOwn(from, key)) {
      patch[key] = value;
      continue;
    }
    const inner = mergePatch(from[key], value);
    if (inner !== undefined) patch[key] = inner as Json;
  }
  return Object.keys(patch).length === 0 ? undefined : patch;
}

/** Applies a merge patch (RFC 7396 §2). */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value) as Json;
  }
  return result;
}

/**
 * One patch with the effect of `first` then `second` (a later value,
 * `null` included, wins; objects combine key by key).
 */
export function composeMergePatches(first: unknown, second: unknown): unknown {
  if (!isObject(first) || !isObject(second)) return second;
  const result: Record<string, Json> = { ...first };
  for (const [key, value] of Object.entries(second)) {
    result[key] = isObject(value) && isObject(result[key])
      ? composeMergePatches(result[key], value) as Json
      : value;
  }
  return result;
}
