/**
 * `intent.mode: "rules+llm"` (spec/projects.md §4): a short reply the rules
 * read as `adjust` is checked by the background model, whose intent wins at
 * confidence ≥ 0.8; a less sure answer, an invalid one, or a long reply
 * leaves the rules' reading.
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chatRequests } from "../llm/helpers.ts";
import { answer, api, planOf, projectHost, turnEnd } from "./helpers.ts";

const CLARIFY = answer({ acknowledgment: "ok", questions: ["Which language?"], uncertainties: [] });

Deno.test("rules+llm: a confident model turns a short 'adjust' into accept; an unsure or invalid answer and a long reply keep the rules' adjust", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    clarify: [CLARIFY],
    plan: Array.from({ length: 5 }, () => answer(planOf(4))),
    intent: [
      answer({ intent: "adjust", confidence: 0.95 }),
      answer({ intent: "accept", confidence: 0.5 }),
      { reply: { text: "accept, I think" } },
      answer({ intent: "accept", confidence: 0.9 }),
    ],
  });
  await using host = await projectHost(fake, {
    config: { gdil: { intent: { mode: "rules+llm" } } },
  });
  const created = await api(host, "POST", "/api/projects", { description: "A greeter CLI" });
  const id = created.body.project.id as string;
  const say = async (text: string) => {
    const accepted = await api(host, "POST", `/api/projects/${id}/input`, { text });
    assert.equal((await turnEnd(host, accepted.body.turn_id)).status, "completed");
    return (await api(host, "GET", `/api/projects/${id}`)).body;
  };
  const intentCalls = () =>
    chatRequests(fake).filter((request) => request.headers["x-synth-purpose"] === "intent");

  assert.equal((await say("TypeScript")).phase, "planning");
  // The model agrees with the rules: a re-plan.
  let detail = await say("make it smaller");
  assert.equal(detail.phase, "planning");
  assert.equal(detail.plan_version, 2);
  // Unsure (0.5) and not JSON: the rules' adjust stands.
  assert.equal((await say("that works for me")).plan_version, 3);
  assert.equal((await say("that works for me")).plan_version, 4);
  // Long replies are not asked about.
  const calls = intentCalls().length;
  detail = await say(
    "please change the plan so that the second task comes before the first one and the " +
      "third is split into two smaller tasks with their own tests",
  );
  assert.equal(intentCalls().length, calls, "no intent call for a reply over 20 words");
  assert.equal(detail.plan_version, 5);
  // Confident: accepted, iteration starts.
  detail = await say("that works for me");
  assert.equal(detail.phase, "iteration");
  assert.equal(intentCalls().length, 4);
  const asked = intentCalls()[0]!;
  assert.match(JSON.stringify(asked.body), /<reply>\\nmake it smaller\\n<\/reply>/);
});
