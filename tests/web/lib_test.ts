import assert from "node:assert/strict";
import { backoffCap, backoffDelay } from "../../web/lib/backoff.ts";
import {
  count,
  duration,
  isInternalPath,
  prettyJson,
  safeHref,
  secondsUntil,
  shortTime,
  signed,
  tickLabels,
} from "../../web/lib/format.ts";
import { applyMergePatch } from "../../web/lib/merge_patch.ts";

/** Mulberry32: a small seeded generator in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// backoff.ts

Deno.test("backoff cap doubles from 500 ms and stops at 30 s", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7, 20].map(backoffCap),
    [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000],
  );
  assert.equal(backoffCap(-3), 500);
});

Deno.test("backoff delay is full jitter within [0, cap) for every attempt", () => {
  const random = seeded(42);
  for (let attempt = 0; attempt < 12; attempt++) {
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelay(attempt, random);
      assert.ok(Number.isInteger(delay), `attempt ${attempt}: ${delay} is not whole ms`);
      assert.ok(delay >= 0 && delay < backoffCap(attempt), `attempt ${attempt}: ${delay}`);
    }
  }
});

Deno.test("backoff delay spans the whole range: 0 at random 0, just under the cap near 1", () => {
  assert.equal(backoffDelay(3, () => 0), 0);
  assert.equal(backoffDelay(3, () => 0.999_999), 3_999);
  assert.equal(backoffDelay(10, () => 0.999_999), 29_999);
});

// merge_patch.ts: RFC 7396 Appendix A, every case.

const RFC_7396_CASES: Array<[unknown, unknown, unknown]> = [
  [{ a: "b" }, { a: "c" }, { a: "c" }],
  [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
  [{ a: "b" }, { a: null }, {}],
  [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
  [{ a: ["b"] }, { a: "c" }, { a: "c" }],
  [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
  [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
  [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
  [["a", "b"], ["c", "d"], ["c", "d"]],
  [{ a: "b" }, ["c"], ["c"]],
  [{ a: "foo" }, null, null],
  [{ a: "foo" }, "bar", "bar"],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: "b", c: null }, { a: "b" }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

Deno.test("merge patch gives RFC 7396's result for every Appendix A case", () => {
  for (const [target, patch, result] of RFC_7396_CASES) {
    assert.deepEqual(
      applyMergePatch(target, patch),
      result,
      `${JSON.stringify(target)} + ${JSON.stringify(patch)}`,
    );
  }
});

Deno.test("merge patch leaves its target unchanged", () => {
  const target = { a: { b: 1, c: 2 }, d: [1, 2] };
  const before = structuredClone(target);
  const result = applyMergePatch(target, { a: { b: null, e: 3 }, d: null });
  assert.deepEqual(target, before);
  assert.deepEqual(result, { a: { c: 2, e: 3 } });
});

// format.ts

Deno.test("tickLabels: seconds within ten minutes, minutes within two days, days, then months; one line each", () => {
  const at = Date.UTC(2026, 10, 27, 20, 39, 40) / 1_000;
  const time = (t: number, options: Intl.DateTimeFormatOptions) =>
    new Date(t * 1_000).toLocaleTimeString(undefined, options);
  const hms = { hour: "2-digit", minute: "2-digit", second: "2-digit" } as const;
  const hm = { hour: "2-digit", minute: "2-digit" } as const;
  assert.deepEqual(tickLabels([at, at + 30]), [time(at, hms), time(at + 30, hms)]);
  assert.deepEqual(tickLabels([at, at + 3_600]), [time(at, hm), time(at + 3_600, hm)]);
  const days = tickLabels([at, at + 5 * 86_400]);
  assert.equal(
    days[1],
    new Date((at + 5 * 86_400) * 1_000).toLocaleDateString(undefined, {
      day: "numeric",
      month: "short",
    }),
  );
  const year = tickLabels([at, at + 400 * 86_400]);
  assert.equal(
    year[0],
    new Date(at * 1_000).toLocaleDateString(undefined, { month: "short", year: "numeric" }),
  );
  for (const label of [...tickLabels([at, at + 30]), ...days]) assert.ok(!label.includes("\n"));
  assert.deepEqual(tickLabels([]), []);
});

Deno.test("safeHref keeps internal paths and http(s) URLs", () => {
  assert.equal(safeHref("/projects/prj_1?tab=gantt"), "/projects/prj_1?tab=gantt");
  assert.equal(safeHref("https://example.com/a b"), "https://example.com/a%20b");
  assert.equal(safeHref("http://example.com"), "http://example.com/");
});

Deno.test("safeHref refuses javascript:, data:, other schemes and other hosts", () => {
  for (
    const href of [
      "javascript:alert(1)",
      " JavaScript:alert(1)",
      "java\tscript:alert(1)",
      "data:text/html,<script>alert(1)</script>",
      "vbscript:msgbox(1)",
      "file:///etc/passwd",
      "mailto:a@example.com",
      "//evil.example",
      "/\\evil.example",
      "/\t/evil.example",
      "\\\\evil.example",
      "relative/path",
      "",
    ]
  ) {
    assert.equal(safeHref(href), null, JSON.stringify(href));
  }
});

Deno.test("isInternalPath refuses what a URL parser would read as another host", () => {
  assert.equal(isInternalPath("/chat/thr_1"), true);
  assert.equal(isInternalPath("/"), true);
  for (const path of ["//evil", "/\\evil", "/\n/evil", "/\r/evil", "/x\u007f", "evil", ""]) {
    assert.equal(isInternalPath(path), false, JSON.stringify(path));
  }
});

Deno.test("duration picks ms, s or min, and is empty without a number", () => {
  assert.equal(duration(850), "850 ms");
  assert.equal(duration(2_340), "2.3 s");
  assert.equal(duration(240_000), "4 min");
  assert.equal(duration(null), "");
  assert.equal(duration(undefined), "");
  assert.equal(duration(Number.NaN), "");
});

Deno.test("signed shows the sign, a true minus and two decimals", () => {
  assert.equal(signed(0.25), "+0.25");
  assert.equal(signed(-0.1), "−0.10");
  assert.equal(signed(0), "+0.00");
  assert.equal(signed(null), "–");
  assert.equal(signed(Number.POSITIVE_INFINITY), "–");
});

Deno.test("secondsUntil rounds up and never goes below zero", () => {
  const now = Date.parse("2025-05-03T12:00:00.000Z");
  assert.equal(secondsUntil("2025-05-03T12:00:10.200Z", now), 11);
  assert.equal(secondsUntil("2025-05-03T11:59:00.000Z", now), 0);
});

Deno.test("prettyJson indents JSON text and returns other text as it is", () => {
  assert.equal(prettyJson('{"a":[1]}'), '{\n  "a": [\n    1\n  ]\n}');
  assert.equal(prettyJson("not json"), "not json");
  assert.equal(prettyJson(null), "");
});

Deno.test("shortTime shows only the time today, the date too on another day", () => {
  const now = new Date(2025, 4, 3, 15, 0).getTime();
  const today = new Date(2025, 4, 3, 12, 4);
  const earlier = new Date(2025, 4, 1, 12, 4);
  const time = today.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  assert.equal(shortTime(today.getTime(), now), time);
  const other = shortTime(earlier.toISOString(), now);
  assert.ok(other.endsWith(` ${time}`) && other.length > time.length + 1, other);
  assert.equal(shortTime("not a date", now), "");
});

Deno.test("count() says one thing in the singular, any other number in the plural", () => {
  assert.equal(count(1, "step"), "1 step");
  assert.equal(count(3, "step"), "3 steps");
  assert.equal(count(0, "iteration"), "0 iterations");
  assert.equal(count(2, "memory", "memories"), "2 memories");
});
