import assert from "node:assert/strict";
import { redactPersonal } from "./redact_personal.ts";

Deno.test("e-mails, URLs, IPs, phones, long numbers, keys and names are replaced", () => {
  const text =
    "Ada (ada@example.org, +44 20 7946 0958) said see https://example.org/x?y=1 from 10.0.0.12; order 12345678; token abcd1234efgh5678ijkl9.";
  assert.equal(
    redactPersonal(text, ["Ada"]),
    "[name] ([email], [phone]) said see [url] from [ip]; order [number]; token [key].",
  );
  assert.equal(
    redactPersonal("I will be more concise next time."),
    "I will be more concise next time.",
  );
});
