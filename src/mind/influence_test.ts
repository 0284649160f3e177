import assert from "node:assert/strict";
import { toApiShape, toSnakeCase } from "./influence.ts";

Deno.test("toSnakeCase rewrites camelCase names only: an id keying a map is kept whole", () => {
  assert.deepEqual(
    toSnakeCase({
      turnId: "t",
      p95Ms: 1,
      already_snake: { innerKey: true },
      thr_01JABCDEF: { lastReplyAt: 2 },
      Capitalised: 3,
      "x-min-role": 4,
      list: [{ setId: "s" }],
    }),
    {
      turn_id: "t",
      p95_ms: 1,
      already_snake: { inner_key: true },
      thr_01JABCDEF: { last_reply_at: 2 },
      Capitalised: 3,
      "x-min-role": 4,
      list: [{ set_id: "s" }],
    },
  );
});

Deno.test("toApiShape gives RFC 3339 times where a key names a time and holds epoch ms", () => {
  assert.deepEqual(
    toApiShape({
      at: 0,
      updatedAt: 1_767_225_600_000,
      endedAt: null,
      rows: [{ created_at: 1_767_225_600_123, count: 5 }],
      startedAt: "2026-01-01T00:00:00.000Z",
      latency: 12,
      farAt: 9e15,
    }),
    {
      at: "1970-01-01T00:00:00.000Z",
      updated_at: "2026-01-01T00:00:00.000Z",
      ended_at: null,
      rows: [{ created_at: "2026-01-01T00:00:00.123Z", count: 5 }],
      started_at: "2026-01-01T00:00:00.000Z",
      latency: 12,
      far_at: 9e15, // beyond a Date: left a number, not a thrown export
    },
  );
});
