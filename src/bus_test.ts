import assert from "node:assert/strict";
import { createEventBus } from "./bus.ts";
import { FakeClock } from "./testing/fake_clock.ts";
import { createMemoryLogger } from "./testing/memory_log.ts";

function setup() {
  const { log, records } = createMemoryLogger();
  const clock = new FakeClock({ start: Date.UTC(2026, 10, 25) });
  return { bus: createEventBus({ clock, log }), records };
}

Deno.test("subscribers of a type and of * receive events with time and source", () => {
  const { bus } = setup();
  const typed: unknown[] = [];
  const all: string[] = [];
  bus.subscribe("test.update", (event) => void typed.push(event));
  bus.subscribe("*", (event) => void all.push(event.type));
  bus.scoped("memory").publish("test.update", { id: "mem_1" });
  bus.publish("plugin.started", { plugins: [] });
  assert.deepEqual(typed, [{
    type: "test.update",
    data: { id: "mem_1" },
    ts: "2026-11-25T00:00:00.000Z",
    source: "memory",
  }]);
  assert.deepEqual(all, ["test.update", "plugin.started"]);
});

Deno.test("an event's time is when it was published, also when read later, and it serialises", async () => {
  const { log } = createMemoryLogger();
  const clock = new FakeClock({ start: Date.UTC(2026, 10, 25) });
  const bus = createEventBus({ clock, log });
  const seen: Array<{ ts: string }> = [];
  bus.subscribe("test.update", (event) => void seen.push(event));
  bus.publish("test.update", { n: 1 });
  await clock.tick(86_400_000);
  assert.equal(seen[0]!.ts, "2026-11-25T00:00:00.000Z");
  assert.equal(JSON.parse(JSON.stringify(seen[0])).ts, "2026-11-25T00:00:00.000Z");
  assert.equal({ ...seen[0]! }.ts, "2026-11-25T00:00:00.000Z");
});

Deno.test("unsubscribing stops delivery", () => {
  const { bus } = setup();
  let count = 0;
  const unsubscribe = bus.subscribe("x.y", () => void count++);
  bus.publish("x.y", null);
  unsubscribe();
  bus.publish("x.y", null);
  assert.equal(count, 1);
});

Deno.test("a failing subscriber is logged and the others still receive the event", async () => {
  const { bus, records } = setup();
  const received: string[] = [];
  bus.subscribe("x.y", () => {
    throw new Error("sync failure");
  });
  bus.subscribe("x.y", () => Promise.reject(new Error("async failure")));
  bus.subscribe("x.y", () => void received.push("third"));
  bus.publish("x.y", null);
  assert.deepEqual(received, ["third"]);
  await Promise.resolve();
  const failures = records.filter((record) => record.msg === "event subscriber failed");
  assert.deepEqual(
    failures.map((record) => (record.error as { message: string }).message),
    ["sync failure", "async failure"],
  );
});
