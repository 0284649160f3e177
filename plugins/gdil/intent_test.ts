import assert from "node:assert/strict";
import { classify, type ClassifyOptions, tokenize } from "./intent.ts";
import type { ActivePhase, Intent } from "./types.ts";

const FREE: ClassifyOptions = { isTemplateStart: false };
const TEMPLATE: ClassifyOptions = { isTemplateStart: true };

function check(cases: Array<[ActivePhase, string, Intent, ClassifyOptions?]>) {
  for (const [phase, text, expected, options] of cases) {
    assert.equal(
      classify(phase, text, options ?? FREE),
      expected,
      `${phase}: ${JSON.stringify(text)}`,
    );
  }
}

Deno.test("the ten required fixtures of §4 classify as specified", () => {
  check([
    ["planning", "yes go now", "accept"],
    ["planning", "I know, but add a testing task", "adjust"],
    ["planning", "note: split task 3", "adjust"],
    ["planning", "no", "hesitate"],
    ["planning", "cancel the project", "decline"],
    ["planning", "cancel the deployment task", "adjust"],
    ["iteration", "don't stop", "continue"],
    ["iteration", "I think we can stop here", "stop"],
    ["iteration", "stop using tabs, use spaces", "feedback"],
    ["initialization", "skip", "skip", TEMPLATE],
  ]);
});

Deno.test("tokens are NFKC, lower-cased runs of letters, digits and apostrophes", () => {
  assert.deepEqual(tokenize("Don't STOP — ｎｏｗ!"), ["don't", "stop", "now"]);
  assert.deepEqual(tokenize("  ...  "), []);
  assert.deepEqual(tokenize("don’t 'yes'"), ["don't", "yes"]);
});

Deno.test("words that merely contain a phrase never match it", () => {
  check([
    ["planning", "now", "adjust"],
    ["planning", "know", "adjust"],
    ["planning", "nothing", "adjust"],
    ["planning", "yesterday", "adjust"],
    ["iteration", "stopwatch", "feedback"],
    ["iteration", "unpause", "feedback"],
    ["iteration", "abandoned", "feedback"],
  ]);
});

Deno.test("planning: accept, hesitate, decline, else adjust", () => {
  check([
    ["planning", "Looks good!", "accept"],
    ["planning", "OK, let's go.", "accept"],
    ["planning", "LGTM, thanks", "accept"],
    ["planning", "go ahead please", "accept"],
    ["planning", "wait", "hesitate"],
    ["planning", "hmm, not yet", "hesitate"],
    ["planning", "hold on", "hesitate"],
    ["planning", "never mind", "decline"],
    ["planning", "forget it", "decline"],
    ["planning", "abort", "decline"],
    ["planning", "yes but add a task", "adjust"],
    ["planning", "start with the database instead", "adjust"],
    ["planning", "don't accept", "adjust"],
  ]);
});

Deno.test("a negator within two tokens before a phrase cancels it", () => {
  check([
    ["planning", "do not proceed", "adjust"],
    ["planning", "never go", "adjust"],
    ["iteration", "do not stop", "continue"],
    ["iteration", "don't you stop", "continue"],
    ["iteration", "no need to pause", "continue"],
    ["iteration", "please don't stop now", "continue"],
    ["iteration", "don't, please, stop", "continue"],
  ]);
  // Two tokens away the negator still reaches the phrase; three tokens away it does not.
  assert.equal(classify("iteration", "don't then stop", FREE), "continue");
  assert.equal(classify("iteration", "don't it then stop", FREE), "feedback");
});

Deno.test("iteration: empty, stop, pause, continue, else feedback", () => {
  check([
    ["iteration", "", "continue"],
    ["iteration", "   ", "continue"],
    ["iteration", "?!", "continue"],
    ["iteration", "stop", "stop"],
    ["iteration", "That's enough, thanks", "stop"],
    ["iteration", "we're done", "stop"],
    ["iteration", "I'm done for now", "stop"],
    ["iteration", "wrap up", "stop"],
    ["iteration", "cancel", "stop"],
    ["iteration", "end the project", "stop"],
    ["iteration", "pause", "pause"],
    ["iteration", "put it on hold", "pause"],
    ["iteration", "Please hold off", "pause"],
    ["iteration", "please continue", "continue"],
    ["iteration", "next", "continue"],
    ["iteration", "keep going", "continue"],
    ["iteration", "ok, carry on", "continue"],
    ["iteration", "thanks", "continue"],
    ["iteration", "use a smaller font", "feedback"],
    ["iteration", "don't use tabs", "feedback"],
    ["iteration", "don't continue", "feedback"],
    ["iteration", "don't stop, but rename the module", "feedback"],
  ]);
});

Deno.test("initialization: skip only on a template start, then hesitate, else answers", () => {
  check([
    ["initialization", "use defaults", "skip", TEMPLATE],
    ["initialization", "Go", "skip", TEMPLATE],
    ["initialization", "as is, please", "skip", TEMPLATE],
    ["initialization", "skip", "answers", FREE],
    ["initialization", "wait", "hesitate", TEMPLATE],
    ["initialization", "not yet", "hesitate"],
    ["initialization", "It is for my team of five, written in Go", "answers", TEMPLATE],
    ["initialization", "don't skip", "answers", TEMPLATE],
  ]);
});

Deno.test("a message without tokens asks again in planning and initialization", () => {
  assert.equal(classify("planning", "", FREE), "hesitate");
  assert.equal(classify("initialization", " . ", TEMPLATE), "hesitate");
});

Deno.test("wait in planning hesitates and wait in iteration is feedback", () => {
  check([
    ["planning", "wait", "hesitate"],
    ["iteration", "wait", "feedback"],
  ]);
});

Deno.test("config phrases extend the built-in sets, normalised like messages", () => {
  const options: ClassifyOptions = {
    isTemplateStart: false,
    extra: { ACCEPT: ["Ship It"], STOP: ["call it a day"], FILLER: ["mate"] },
  };
  assert.equal(classify("planning", "ship it, mate", options), "accept");
  assert.equal(classify("planning", "ship it, mate", FREE), "adjust");
  assert.equal(classify("iteration", "let's call it a day", options), "stop");
  assert.equal(classify("planning", "yes", options), "accept");
});
