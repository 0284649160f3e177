import assert from "node:assert/strict";
import { createAppraiser } from "./appraisal.ts";
import { loadProfile } from "./profile.ts";

const { profile } = await loadProfile("empathetic");
const appraiser = createAppraiser(profile);
const context = { previousUserTokens: [], previousReplyAt: null, receivedAt: 1_000 };
const appraise = (text: string, extra = {}) => appraiser.appraise(text, { ...context, ...extra });

Deno.test("sentiment uses AFINN with the profile's overrides and ignores code and logs", () => {
  const angry = appraise("This is awful, I hate it. Terrible.");
  assert.ok(angry.sentiment.s < -0.9, `s=${angry.sentiment.s}`);
  assert.equal(angry.sentiment.s, Math.tanh(angry.sentiment.score / 4));
  const failing = appraise("The build failed with an error");
  assert.equal(failing.sentiment.score, 0, "error and failed are neutral");
  const logs = appraise(
    "Here is the log:\n```\nfatal: terrible awful crash\n```\nat Object.run (x.js:1:1)",
  );
  assert.equal(logs.sentiment.score, 0);
  assert.ok(appraise("Thank you, that is wonderful!").sentiment.s > 0.5);
});

Deno.test("intent follows the rule order; flags come from patterns on the first sentence or feedback", () => {
  assert.equal(appraise("No, that's wrong. Try again?").intent, "correct");
  assert.equal(appraise("Actually I meant the other file").correction, true);
  assert.equal(appraise("Yes, that fixed it!").intent, "confirm");
  assert.equal(appraise("What do you mean by that?").intent, "clarify");
  assert.equal(appraise("I don't understand, what do you mean?").clarificationRequest, true);
  assert.equal(appraise("Thanks a lot").intent, "thank");
  assert.equal(appraise("How do I run the tests").intent, "question");
  assert.equal(appraise("the tests pass?").intent, "question");
  assert.equal(appraise("Write a haiku about rain").intent, "request");
  assert.equal(appraise("I went to the market").intent, "other");
  assert.equal(appraise("Looks fine", { feedback: "bad" }).correction, true);
  assert.equal(appraise("Looks fine", { feedback: "good" }).intent, "confirm");
  assert.equal(appraise("The first part. No, wait").correction, false, "first sentence only");
});

Deno.test("curly quotes are normalised before matching", () => {
  assert.equal(appraise("I don\u2019t understand").clarificationRequest, true);
  assert.equal(appraise("That\u2019s wrong").correction, true);
});

Deno.test("length ratio, latency and references to the past", () => {
  assert.equal(appraise("one two three four").lengthRatio, null);
  const ratio = appraise("one two", { previousUserTokens: [4, 8, 10] }).lengthRatio;
  assert.equal(ratio, 2 / 8);
  assert.equal(appraise("hi", { previousReplyAt: 400 }).latencyMs, 600);
  assert.equal(appraise("As we discussed last time, the plan").referencesPast, true);
  assert.equal(appraise("A new plan").referencesPast, false);
  assert.equal(appraise("I'm 100% sure it's fine").tokens, 5);
});
