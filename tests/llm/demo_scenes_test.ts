/**
 * The demonstration scenes of docs/llm.md ("Trying it without a provider"):
 * `deno task fake-llm --scenes tests/fakes/llm/demo_scenes.json` answers
 * every background module with valid output, so a user without a provider
 * sees forecasts, reflections, a narrative version and a project run.
 */
import assert from "node:assert/strict";
import { type PurposeScript, scriptScenes } from "../fakes/llm/scenes.ts";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chat, mindHost } from "../mind/helpers.ts";
import { api, turnEnd } from "../projects/helpers.ts";

const DEMO = new URL("../fakes/llm/demo_scenes.json", import.meta.url);

Deno.test("the demo scenes drive forecasts, a reflection, narrative v2 and a project to its exit", async () => {
  const script = JSON.parse(await Deno.readTextFile(DEMO)) as PurposeScript;
  await using fake = await startFakeLlm({ scenes: scriptScenes(script) });
  await using host = await mindHost(fake);

  const first = await chat(host, "How should I plan my week around two deadlines?");
  assert.equal(first.status, 200, JSON.stringify(first.body));
  const threadId = first.body.thread_id as string;
  await host.kernel.mind.scheduler.idle();
  const next = await chat(host, "Can you give me an example of that?", threadId);
  const { record } = (await host.kernel.mind.influence(next.body.turn_id as string))!;
  assert.equal(record.forecast.status, "resolved", "the demo forecast parsed and resolved");
  assert.ok(record.forecast.alignment! > 0.4, "the message the demo predicted");

  const reflected = await chat(host, "/reflect", threadId);
  assert.equal(reflected.body.success, true, String(reflected.body.response));
  await host.kernel.mind.scheduler.idle();
  const runs = await host.kernel.store.db.selectFrom("psyche_reflection_runs").select("status")
    .execute();
  assert.deepEqual(runs.map((run) => run.status), ["done"]);
  const narrative = await (await host.request("/api/narrative")).json();
  assert.equal(narrative.version, 2, "the demo rewrite passes the sanitiser and the gate");

  const failed = await host.kernel.store.db.selectFrom("mind_jobs").select(["kind", "note"])
    .where("status", "=", "failed").execute();
  assert.deepEqual(failed, [], "no background job failed");

  const created = await api(host, "POST", "/api/projects", { description: "Write a garden plan" });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.project.id as string;
  await turnEnd(host, created.body.turn.turn_id);
  for (
    const body of [{ text: "Me, this spring" }, { text: "yes" }, { intent: "continue", steps: 4 }]
  ) {
    const accepted = await api(host, "POST", `/api/projects/${id}/input`, body);
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    await turnEnd(host, accepted.body.turn_id);
  }
  const project = (await api(host, "GET", `/api/projects/${id}`)).body;
  assert.equal(project.last_error, null);
  assert.equal(project.exit_reason, "completed");
  assert.equal(project.tasks_done, 4);
});
