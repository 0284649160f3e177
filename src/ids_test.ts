import assert from "node:assert/strict";
import { createIdFactory } from "./ids.ts";
import { seededRandom } from "./random.ts";
import { FakeClock } from "./testing/fake_clock.ts";

Deno.test("ids are <prefix>_<ULID>, deterministic for a clock and seed, and sort by time", async () => {
  const make = () =>
    createIdFactory({
      clock: new FakeClock({ start: 1_700_000_000_000 }),
      random: seededRandom(1),
    });
  const a = make();
  const b = make();
  const first = a.next("mem");
  assert.match(first, /^mem_[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal(first, b.next("mem"));
  assert.equal(first.slice(4, 14), "01HF7YAT00", "the time part encodes 1700000000000");

  const clock = new FakeClock({ start: 1_000 });
  const ids = createIdFactory({ clock, random: seededRandom(2) });
  const sameMs = Array.from({ length: 50 }, () => ids.next("thr"));
  assert.deepEqual([...sameMs].sort(), sameMs, "monotonic within one millisecond");
  await clock.tick(1);
  const later = ids.next("thr");
  assert.ok(later > sameMs.at(-1)!);
  assert.throws(() => ids.next("Mem"), /prefix "Mem"/);
});
