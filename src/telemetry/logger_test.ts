import assert from "node:assert/strict";
import { FakeClock } from "../testing/fake_clock.ts";
import { createLogger, type LogRecord, safeStringify } from "./logger.ts";

function capture(level: "debug" | "info" | "warn" | "error" = "info") {
  const records: LogRecord[] = [];
  const clock = new FakeClock({ start: Date.UTC(2026, 10, 25, 12, 0, 0) });
  const log = createLogger({ level, sink: (record) => records.push(record), clock });
  return { log, records };
}

Deno.test("records carry ts, level, msg, scope and fields; lower levels are dropped", () => {
  const { log, records } = capture("info");
  log.debug("dropped");
  log.info("listening", { url: "http://127.0.0.1:8080" });
  log.warn("careful");
  assert.deepEqual(records, [
    {
      ts: "2026-11-25T12:00:00.000Z",
      level: "info",
      msg: "listening",
      scope: "kernel",
      url: "http://127.0.0.1:8080",
    },
    { ts: "2026-11-25T12:00:00.000Z", level: "warn", msg: "careful", scope: "kernel" },
  ]);
});

Deno.test("child loggers extend the scope and carry their fields", () => {
  const { log, records } = capture();
  log.child("plugin").child("memory", { request_id: "r1" }).info("recalled", { hits: 3 });
  assert.equal(records[0]?.scope, "kernel.plugin.memory");
  assert.equal(records[0]?.request_id, "r1");
  assert.equal(records[0]?.hits, 3);
});

Deno.test("errors in fields become name, message, code, stack and cause", () => {
  const { log, records } = capture();
  const cause = new Error("disk full");
  const error = Object.assign(new Error("write failed", { cause }), { code: "STORE_WRITE" });
  log.error("request failed", { error });
  const logged = records[0]?.error as Record<string, unknown>;
  assert.equal(logged.name, "Error");
  assert.equal(logged.message, "write failed");
  assert.equal(logged.code, "STORE_WRITE");
  assert.match(String(logged.stack), /write failed/);
  assert.equal((logged.cause as { message: string }).message, "disk full");
  assert.doesNotThrow(() => JSON.stringify(records[0]));
});

Deno.test("fields cannot overwrite ts, level, msg or scope", () => {
  const { log, records } = capture();
  log.info("real message", { level: "debug", scope: "spoof", msg: "fake", ts: "then" });
  assert.deepEqual(
    [records[0]?.level, records[0]?.scope, records[0]?.msg, records[0]?.ts],
    ["info", "kernel", "real message", "2026-11-25T12:00:00.000Z"],
  );
  assert.deepEqual(Object.keys(records[0]!).slice(0, 4), ["ts", "level", "msg", "scope"]);
});

Deno.test("safeStringify() survives cycles and bigints", () => {
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  assert.equal(
    safeStringify({ cyclic, big: 12n }),
    '{"cyclic":{"name":"loop","self":"[Circular]"},"big":"12"}',
  );
});
