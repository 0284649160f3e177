import assert from "node:assert/strict";
import { isContextTooLong, refusedCapability, retryAfterMs } from "./provider_error.ts";
import { backoffMs, classify } from "./policy.ts";
import { ProviderError } from "./provider_error.ts";

Deno.test("retry-after-ms, retry-after seconds and HTTP dates are read", () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  assert.equal(retryAfterMs(new Headers({ "retry-after-ms": "1500" }), now), 1_500);
  assert.equal(retryAfterMs(new Headers({ "retry-after": "2" }), now), 2_000);
  assert.equal(
    retryAfterMs(new Headers({ "retry-after": "Thu, 01 Jan 2026 12:00:30 GMT" }), now),
    30_000,
  );
  assert.equal(retryAfterMs(new Headers({ "retry-after": "soon" }), now), undefined);
  assert.equal(retryAfterMs(new Headers(), now), undefined);
});

Deno.test("refused parameters and context limits are recognised in provider messages", () => {
  assert.equal(
    refusedCapability("Unsupported value: 'temperature' does not support 0.2"),
    "temperature",
  );
  assert.equal(refusedCapability("Use 'max_completion_tokens' instead"), "max_tokens");
  assert.equal(refusedCapability("llama2 does not support tools"), "tools");
  assert.equal(refusedCapability("messages: field required"), undefined);
  assert.equal(isContextTooLong(400, "This model's maximum context length is 8192 tokens"), true);
  assert.equal(isContextTooLong(413, "too large"), true);
  assert.equal(isContextTooLong(400, "bad"), false);
});

const context = (extra = {}) => ({
  provider: { id: "openai", type: "openai" as const, baseUrl: "http://127.0.0.1:9/v1" },
  model: "m",
  now: 0,
  maxRetryAfterMs: 20_000,
  capabilityRetried: false,
  ...extra,
});

Deno.test("failures map to retry, failover, capability or fail as the spec's table says", () => {
  const http = (status: number, options = {}) =>
    classify(new ProviderError("http", "x", { status, ...options }), context());
  for (const status of [408, 500, 502, 503, 504, 529]) assert.equal(http(status).action, "retry");
  assert.deepEqual(http(429, { retryAfterMs: 1_000 }), {
    action: "retry",
    waitMs: 1_000,
    countsForBreaker: false,
    reason: "rate limited (429)",
  });
  const throttled = http(429, { retryAfterMs: 120_000 });
  assert.equal(throttled.action, "failover");
  assert.deepEqual(throttled.action === "failover" && throttled.mark, {
    state: "throttled",
    untilMs: 120_000,
  });
  assert.equal(http(401).action, "failover");
  assert.equal(http(404).action, "failover");
  assert.equal(http(400, { refused: "temperature" }).action, "capability");
  assert.deepEqual(http(413, { contextTooLong: true }), {
    action: "fail",
    kind: "context_too_long",
    reason: "context too long",
  });
  assert.equal(http(422).action, "fail");
  const refused = classify(new ProviderError("connection_refused", "x"), context());
  assert.deepEqual(refused, {
    action: "failover",
    countsForBreaker: true,
    reason: "connection refused at 127.0.0.1:9",
  });
  assert.equal(classify(new ProviderError("connection", "reset"), context()).action, "retry");
});

Deno.test("back-off is full jitter under min(cap, base × 2^n)", () => {
  assert.equal(backoffMs(0, 500, 8_000, () => 0.999), 499);
  assert.equal(backoffMs(3, 500, 8_000, () => 0.5), 2_000);
  assert.equal(backoffMs(10, 500, 8_000, () => 0.999), 7_992);
  assert.equal(backoffMs(2, 500, 8_000, () => 0), 0);
});
