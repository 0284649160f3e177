import assert from "node:assert/strict";
import { ago, budgetLevel, dispositionName, rollingMean } from "../../web/lib/mind_stats.ts";
import { MAX_POINTS, TimeRing } from "../../web/lib/time_ring.ts";

// time_ring.ts

Deno.test("the ring keeps the newest 2,000 rows per series, oldest first", () => {
  const ring = new TimeRing(2);
  assert.equal(ring.capacity, MAX_POINTS);
  for (let i = 0; i < 2_500; i++) ring.push(i * 1_000, [i, -i]);
  assert.equal(ring.length, 2_000);
  assert.equal(ring.lastT, 2_499_000);
  const [xs, first, second] = ring.columns();
  assert.equal(xs.length, 2_000);
  assert.equal(xs[0], 500, "times are in seconds for uPlot");
  assert.equal(first![0], 500);
  assert.equal(second!.at(-1), -2_499);
  assert.deepEqual(ring.tail(2).map((row) => row.t), [2_498_000, 2_499_000]);
  assert.equal(ring.firstTime(), 500_000, "the oldest kept, in ms");
  assert.equal(ring.firstTime(1_000_500), 1_001_000);
  assert.equal(ring.firstTime(3_000_000), undefined);
});

Deno.test("the ring turns missing values into gaps and filters by time", () => {
  const ring = new TimeRing(2, 3);
  ring.push(1_000, [1, null]);
  ring.push(2_000, [Number.NaN, 2]);
  ring.push(3_000, [3]);
  assert.deepEqual(ring.columns(2_000), [[2, 3], [null, 3], [2, null]]);
  assert.deepEqual(ring.last(), { t: 3_000, values: [3, null] });
  ring.push(4_000, [4, 4]);
  assert.deepEqual(ring.tail(10).map((row) => row.t), [2_000, 3_000, 4_000]);
  ring.clear();
  assert.equal(ring.length, 0);
  assert.equal(ring.lastT, null);
  assert.equal(ring.last(), null);
});

Deno.test("a ring refuses no series or no capacity", () => {
  assert.throws(() => new TimeRing(0), RangeError);
  assert.throws(() => new TimeRing(1, 0), RangeError);
});

// mind_stats.ts

Deno.test("rolling mean averages the last `window` values, fewer at the start", () => {
  const points = [1, 0, 1, 1, 0].map((v, i) => ({ t: i, v }));
  assert.deepEqual(rollingMean(points, 2).map((p) => p.v), [1, 0.5, 0.5, 1, 0.5]);
  assert.deepEqual(rollingMean(points, 20).map((p) => p.v), [1, 0.5, 2 / 3, 0.75, 0.6]);
  assert.deepEqual(rollingMean([], 20), []);
  assert.throws(() => rollingMean(points, 0), RangeError);
});

Deno.test("budget level: amber from 80 %, over budget from 100 %, none without a limit", () => {
  assert.deepEqual(budgetLevel(79, 100), { percent: 79, level: "ok" });
  assert.deepEqual(budgetLevel(80, 100), { percent: 80, level: "warn" });
  assert.deepEqual(budgetLevel(100, 100), { percent: 100, level: "over" });
  assert.deepEqual(budgetLevel(250, 100), { percent: 250, level: "over" });
  assert.deepEqual(budgetLevel(50, null), { percent: null, level: "none" });
  assert.deepEqual(budgetLevel(50, 0), { percent: null, level: "none" });
});

Deno.test("ages read in minutes, hours and days", () => {
  const now = 10 * 86_400_000;
  assert.equal(ago(now - 5_000, now), "just now");
  assert.equal(ago(now - 5 * 60_000, now), "5 min ago");
  assert.equal(ago(now - 3 * 3_600_000, now), "3 h ago");
  assert.equal(ago(now - 2 * 86_400_000, now), "2 d ago");
});

Deno.test("a download's file name comes from Content-Disposition, never with a path", () => {
  assert.equal(
    dispositionName('attachment; filename="synth-memories-2026-01-01.ndjson"', "x"),
    "synth-memories-2026-01-01.ndjson",
  );
  assert.equal(
    dispositionName('attachment; filename="../etc/passwd"', "memories.ndjson"),
    "memories.ndjson",
  );
  assert.equal(dispositionName(null, "memories.ndjson"), "memories.ndjson");
  // RFC 6266's exact name wins; a path in it is refused like in the plain one.
  assert.equal(
    dispositionName(`attachment; filename="__.md"; filename*=UTF-8''%E6%96%87%E4%BB%B6.md`, "x"),
    "文件.md",
  );
  assert.equal(
    dispositionName(`attachment; filename="x"; filename*=UTF-8''..%2Fetc%2Fpasswd`, "safe"),
    "x",
  );
});
