import assert from "node:assert/strict";
import { RETRY_REASONS, retryReason } from "./policy.ts";
import { ProviderError } from "./provider_error.ts";

Deno.test("retry reasons come from a fixed set, never from the provider's message", () => {
  const http = (status: number) =>
    new ProviderError("http", `openai ${status}: anything the provider said`, { status });
  const cases: Array<[ProviderError, { timedOut?: boolean }, string]> = [
    [http(429), {}, "rate_limited"],
    [http(529), {}, "overloaded"],
    [http(500), {}, "server_error"],
    [http(503), {}, "server_error"],
    [http(408), {}, "timeout"],
    [new ProviderError("protocol", "aborted"), { timedOut: true }, "timeout"],
    [new ProviderError("protocol", "malformed stream: not JSON"), {}, "malformed"],
    [new ProviderError("connection", "connection reset by peer"), {}, "connection"],
  ];
  for (const [error, options, reason] of cases) {
    assert.equal(retryReason(error, options), reason, error.message);
    assert.ok(RETRY_REASONS.includes(retryReason(error, options)));
  }
  assert.ok(RETRY_REASONS.includes("capability"));
});
