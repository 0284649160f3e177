import assert from "node:assert/strict";
import { createRedactor, redactDeep } from "./redact.ts";

Deno.test("configured key values, key patterns, bearer tokens, key headers and key parameters are removed", () => {
  const redact = createRedactor(["my-local-secret-value", "short", undefined]);
  assert.equal(redact("value my-local-secret-value here"), "value [redacted] here");
  assert.equal(redact("short words stay"), "short words stay");
  assert.equal(redact("sk-ant-api03-abcdefghijklmnop1234"), "[redacted]");
  assert.equal(redact("sk-proj-abcdefghijklmnopqrstu"), "[redacted]");
  assert.equal(redact("Authorization: Bearer abc.def-ghi"), "Authorization: [redacted] [redacted]");
  assert.equal(redact('{"x-api-key":"zzz"}'), '{"x-api-key":"[redacted]"}');
  assert.equal(
    redact("GET /v1?key=abc&api_key=def&other=1"),
    "GET /v1?key=[redacted]&api_key=[redacted]&other=1",
  );
  assert.equal(redact("a skeleton key-less text"), "a skeleton key-less text");
});

Deno.test("redactDeep copies plain objects and arrays, leaving other values alone", () => {
  const redact = createRedactor(["secret-value-123"]);
  const date = new Date(0);
  const input = { a: ["x secret-value-123"], b: { c: "secret-value-123" }, d: 1, e: date };
  const output = redactDeep(input, redact);
  assert.deepEqual(output, { a: ["x [redacted]"], b: { c: "[redacted]" }, d: 1, e: date });
  assert.equal(input.b.c, "secret-value-123", "the input is not changed");
});
