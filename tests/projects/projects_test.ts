/**
 * Projects through the HTTP API, the fake LLM over its wire protocol and
 * the fake clock (spec/projects.md §16; issue acceptance 2): a one-line
 * description to exit with a 6-task roadmap, a paused-and-resumed step, an
 * adjustment that re-plans and a restart in the middle; every task completes
 * exactly once and progress ends at 1.0. Plus repair of an invalid plan,
 * intents, templates, references and the timeline.
 */
import assert from "node:assert/strict";
import { makeTestDir, type TestHost } from "@synth/testing";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chatRequests } from "../llm/helpers.ts";
import { answer, api, planOf, projectHost, turnEnd } from "./helpers.ts";

const CLARIFY = answer({
  acknowledgment: "A greeter, nice.",
  questions: ["Which language?", "Who uses it?"],
  uncertainties: [],
});
const step = (progress: number, output = "did some work") =>
  answer({ output, explanation: "", questions: [], taskProgress: progress, blockers: [] });

async function run(host: TestHost, accepted: { turn_id: string }) {
  return await turnEnd(host, accepted.turn_id);
}

async function input(host: TestHost, id: string, body: Record<string, unknown>) {
  const response = await api(host, "POST", `/api/projects/${id}/input`, body);
  assert.equal(response.status, 202, JSON.stringify(response.body));
  return response.body as { turn_id: string };
}

Deno.test("a project goes from a one-line description to exit through the HTTP API: 6 tasks, pause and resume, an adjustment that re-plans, a restart; each task completes once and progress ends at 1", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    clarify: [CLARIFY],
    plan: [answer(planOf(5)), answer(planOf(6))],
    execute: Array.from({ length: 6 }, () => step(1)),
  });
  const dataDir = await makeTestDir("synth-projects-");
  try {
    let id: string;
    {
      await using host = await projectHost(fake, { dataDir });
      const created = await api(host, "POST", "/api/projects", {
        description: "Build a tiny CLI that greets people",
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      id = created.body.project.id;
      assert.match(id, /^prj_[0-9A-Z]{26}$/);
      assert.equal(created.body.project.phase, "initialization");
      assert.equal((await run(host, created.body.turn)).status, "completed");
      let detail = (await api(host, "GET", `/api/projects/${id}`)).body;
      assert.deepEqual(detail.questions, ["Which language?", "Who uses it?"]);
      assert.equal(detail.awaiting, "answers");

      assert.equal(
        (await run(host, await input(host, id, { text: "TypeScript, for my team" }))).status,
        "completed",
      );
      detail = (await api(host, "GET", `/api/projects/${id}`)).body;
      assert.equal(detail.phase, "planning");
      assert.equal(detail.tasks.length, 5);
      assert.equal(detail.plan_version, 1);

      // An adjustment re-plans with the user's text.
      assert.equal(
        (await run(host, await input(host, id, { text: "I know, but add a packaging task" })))
          .status,
        "completed",
      );
      const replan = chatRequests(fake).filter((request) =>
        request.headers["x-synth-purpose"] === "plan"
      ).at(-1)!;
      assert.match(JSON.stringify(replan.body), /add a packaging task/);
      detail = (await api(host, "GET", `/api/projects/${id}`)).body;
      assert.equal(detail.tasks.length, 6);
      assert.equal(detail.plan_version, 2);

      // Pause in planning and resume to planning.
      const paused = await api(host, "POST", `/api/projects/${id}/pause`);
      assert.equal(paused.body.project.phase, "paused");
      assert.equal(paused.body.project.paused_from, "planning");
      const resumed = await api(host, "POST", `/api/projects/${id}/resume`);
      assert.equal(resumed.body.project.phase, "planning");

      assert.equal(
        (await run(host, await input(host, id, { text: "yes go now" }))).status,
        "completed",
      );
      detail = (await api(host, "GET", `/api/projects/${id}`)).body;
      assert.equal(detail.phase, "iteration");
      assert.ok(detail.plan_accepted_at);
      assert.equal(detail.tasks[0].planned_start, detail.plan_accepted_at);

      assert.equal(
        (await run(host, await input(host, id, { intent: "continue", steps: 3 }))).status,
        "completed",
      );
      detail = (await api(host, "GET", `/api/projects/${id}`)).body;
      assert.equal(detail.tasks_done, 3);
    }
    // A restart on the same data directory. The fake clock starts at the same instant again, so
    // another seed keeps the new ids from repeating the first run's.
    {
      await using host = await projectHost(fake, { dataDir, seed: 2 });
      let detail = (await api(host, "GET", `/api/projects/${id}`)).body;
      assert.equal(detail.phase, "iteration");
      assert.equal(detail.tasks_done, 3);
      assert.equal(
        (await run(host, await input(host, id, { intent: "continue", steps: 5 }))).status,
        "completed",
      );
      detail = (await api(host, "GET", `/api/projects/${id}`)).body;
      assert.equal(detail.phase, "exit");
      assert.equal(detail.exit_reason, "completed");
      assert.equal(detail.progress, 1);
      assert.equal(detail.tasks_done, 6);
      const events = (await api(host, "GET", `/api/projects/${id}/events?limit=200`)).body
        .items as Array<
          { seq: number; type: string; task_id: string | null }
        >;
      assert.deepEqual(
        events.map((event) => event.seq),
        events.map((_, i) => i + 1),
        "gap-free seqs",
      );
      const completed = events.filter((event) => event.type === "task.completed").map((event) =>
        event.task_id
      );
      assert.equal(completed.length, 6);
      assert.equal(new Set(completed).size, 6, "each task completes exactly once");
      assert.equal(events.filter((event) => event.type === "exit").length, 1);
      const executes = chatRequests(fake).filter((request) =>
        request.headers["x-synth-purpose"] === "execute"
      );
      assert.equal(executes.length, 6);
      const timeline = (await api(host, "GET", `/api/projects/${id}/timeline`)).body;
      assert.ok(timeline.roadmap.every((task: { status: string }) => task.status === "completed"));
      assert.deepEqual(
        timeline.milestones.map((m: { kind: string }) => m.kind).sort(),
        ["exit", "plan_accepted", "task"],
      );
      assert.equal(timeline.roadmap[1].dependencies[0], timeline.roadmap[0].id);
      // The last task's milestone and the completed exit each raise affect (spec/mind.md §5).
      await host.kernel.mind.settled();
      const gain = host.kernel.mind.profile.affect.gains.milestone;
      const impulses = (await host.kernel.store.db.selectFrom("mind_events").select("data")
        .where("type", "=", "affect.impulse").orderBy("id").execute())
        .map((row) => JSON.parse(row.data))
        .filter((data) => data.label === "outcome.project");
      assert.deepEqual(impulses.map((data) => [data.reason, data.requested]).toSorted(), [
        ["project Greeter CLI: completed", { dp: gain, da: 0, dd: 0.5 * gain }],
        ["project Greeter CLI: milestone", { dp: gain, da: 0, dd: 0.5 * gain }],
      ]);
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a cyclic plan gets exactly one repair request naming the cycle; a second invalid answer fails the turn with nothing invented; retry re-runs it", async () => {
  await using fake = await startFakeLlm();
  const cyclic = planOf(4, { 1: [4], 2: [1], 3: [2], 4: [3] });
  fake.script({
    clarify: [CLARIFY],
    plan: [answer(cyclic), answer(planOf(4))],
    plan_repair: [answer(cyclic), answer(planOf(4))],
  });
  await using host = await projectHost(fake);
  const created = await api(host, "POST", "/api/projects", { description: "A four part thing" });
  await run(host, created.body.turn);
  const id = created.body.project.id;
  const failed = await run(host, await input(host, id, { text: "Go with defaults" }));
  assert.deepEqual(failed, { status: "failed", code: "GDIL_LLM_INVALID_OUTPUT" });
  const repair = chatRequests(fake).filter((request) =>
    request.headers["x-synth-purpose"] === "plan_repair"
  );
  assert.equal(repair.length, 1);
  assert.match(JSON.stringify(repair[0]!.body), /cycle: /);
  let detail = (await api(host, "GET", `/api/projects/${id}`)).body;
  assert.equal(detail.phase, "initialization", "phase unchanged");
  assert.equal(detail.tasks.length, 0, "no roadmap invented");
  assert.equal(detail.last_error.code, "GDIL_LLM_INVALID_OUTPUT");
  assert.ok(detail.events.some((event: { type: string }) => event.type === "llm.failed"));
  assert.equal((await run(host, await input(host, id, { intent: "retry" }))).status, "completed");
  detail = (await api(host, "GET", `/api/projects/${id}`)).body;
  assert.equal(detail.phase, "planning");
  assert.equal(detail.tasks.length, 4);
  assert.equal(detail.last_error, null);
});

Deno.test("intents: 'no' makes no model call; 'cancel the project' exits declined; 'I think we can stop here' exits user_stop; each exit reports one outcome to the mind", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    clarify: [CLARIFY, CLARIFY],
    plan: [answer(planOf(4)), answer(planOf(4))],
    execute: [step(0.3)],
  });
  await using host = await projectHost(fake);
  const outcomes: string[] = [];
  const impulses: unknown[] = [];
  host.kernel.bus.subscribe("mind.impulses", (event) => {
    for (const item of event.data.events ?? []) {
      if (item.type === "outcome.project") outcomes.push(String(item.data.kind));
    }
    impulses.push(...event.data.impulses ?? []);
  });
  const first = await api(host, "POST", "/api/projects", { description: "Plan a garden" });
  await run(host, first.body.turn);
  const a = first.body.project.id;
  await run(host, await input(host, a, { text: "vegetables" }));
  const gdilCalls = () =>
    chatRequests(fake).filter((request) =>
      /^(clarify|plan|refine|execute)/.test(request.headers["x-synth-purpose"] ?? "")
    ).length;
  const before = gdilCalls();
  assert.equal((await run(host, await input(host, a, { text: "no" }))).status, "completed");
  assert.equal(gdilCalls(), before, "'no' makes no model call");
  assert.equal((await api(host, "GET", `/api/projects/${a}`)).body.phase, "planning");
  await run(host, await input(host, a, { text: "cancel the project" }));
  let detail = (await api(host, "GET", `/api/projects/${a}`)).body;
  assert.equal(detail.exit_reason, "declined");
  const late = await api(host, "POST", `/api/projects/${a}/input`, { text: "one more thing" });
  assert.equal(late.status, 409);
  assert.equal(late.body.error.code, "GDIL_INVALID_PHASE");
  assert.equal(late.body.error.message, "The project has ended (declined); resume it to go on");

  const second = await api(host, "POST", "/api/projects", { description: "Paint the fence" });
  await run(host, second.body.turn);
  const b = second.body.project.id;
  await run(host, await input(host, b, { text: "white" }));
  await run(host, await input(host, b, { text: "yes" }));
  await run(host, await input(host, b, { text: "don't stop" }));
  detail = (await api(host, "GET", `/api/projects/${b}`)).body;
  assert.equal(detail.phase, "iteration", "'don't stop' iterates");
  assert.equal(detail.iteration_count, 1);
  const budget = detail.max_iterations;
  await run(host, await input(host, b, { text: "I think we can stop here" }));
  detail = (await api(host, "GET", `/api/projects/${b}`)).body;
  assert.equal(detail.exit_reason, "user_stop");
  assert.deepEqual(outcomes, ["stopped", "stopped"]);
  assert.deepEqual(impulses, [], "a stopped project moves no affect");
  const exitOf = async () =>
    ((await api(host, "GET", `/api/projects/${b}/timeline`)).body.milestones as Array<
      { kind: string; label: string; at: string }
    >).filter((milestone) => milestone.kind === "exit");
  assert.deepEqual(await exitOf(), [{
    id: `${b}:exit`,
    label: "Ended: user stop",
    kind: "exit",
    task_id: null,
    planned_at: null,
    at: detail.exit_at,
  }]);
  // Archived, it says the same; resuming keeps the iteration budget and drops the exit marker.
  await api(host, "POST", `/api/projects/${b}/archive`);
  const archived = await api(host, "POST", `/api/projects/${b}/input`, { text: "more" });
  assert.equal(
    archived.body.error.message,
    "The project has ended (user stop); resume it to go on",
  );
  const resumed = await api(host, "POST", `/api/projects/${b}/resume`);
  assert.equal(resumed.body.project.phase, "iteration");
  assert.ok(resumed.body.project.max_iterations >= budget, "resuming never cuts the budget");
  assert.deepEqual(await exitOf(), []);
});

Deno.test("templates: ten listed, one shown in snake_case; web-app + skip reaches iteration with its tasks and no model call; references by prefix, ambiguous and unknown", async () => {
  await using fake = await startFakeLlm();
  await using host = await projectHost(fake);
  const templates = (await api(host, "GET", "/api/templates")).body.items as Array<
    { id: string; task_count: number }
  >;
  assert.equal(templates.length, 10);
  const webApp = (await api(host, "GET", "/api/templates/web-app")).body;
  assert.match(webApp.suggested_brief, /^Build a web application/);
  assert.match(webApp.end_transformation, /^From .+ to .+/);
  assert.deepEqual(webApp.tasks[0].depends_on, []);
  assert.deepEqual(webApp.tasks[1].depends_on, [webApp.tasks[0].key]);
  assert.ok(!("suggestedBrief" in webApp) && !("dependsOn" in webApp.tasks[1]), "snake_case only");
  const created = await api(host, "POST", "/api/projects", { template_id: "web-app" });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.turn, null);
  const id = created.body.project.id as string;
  assert.equal(created.body.project.tasks.length, 7);
  await run(host, await input(host, id, { text: "skip" }));
  const detail = (await api(host, "GET", `/api/projects/${id}`)).body;
  assert.equal(detail.phase, "iteration");
  assert.deepEqual(
    detail.tasks.map((task: { name: string }) => task.name),
    created.body.project.tasks.map((task: { name: string }) => task.name),
  );
  assert.equal(
    chatRequests(fake).filter((request) =>
      /plan|refine/.test(request.headers["x-synth-purpose"] ?? "")
    ).length,
    0,
  );
  const prefix = id.slice(4, 12);
  assert.equal((await api(host, "GET", `/api/projects/${prefix}`)).body.id, id);
  assert.equal((await api(host, "GET", "/api/projects/ZZZZZZZZ")).status, 404);
  // Two projects created in the same millisecond share a ULID time prefix.
  await api(host, "POST", "/api/projects", { template_id: "api" });
  const ambiguous = await api(host, "GET", `/api/projects/${id.slice(4, 8)}`);
  assert.equal(ambiguous.status, 409);
  assert.equal(ambiguous.body.error.code, "GDIL_AMBIGUOUS_ID");
  assert.ok(ambiguous.body.error.details.candidates.length >= 2);
});

Deno.test("each of the ten templates, started and skipped, reaches iteration with its roadmap intact", async () => {
  await using fake = await startFakeLlm();
  await using host = await projectHost(fake, { config: { gdil: { maxActiveProjects: 10 } } });
  const templates = (await api(host, "GET", "/api/templates")).body.items as Array<
    { id: string; task_count: number }
  >;
  assert.equal(templates.length, 10);
  for (const template of templates) {
    const shown = (await api(host, "GET", `/api/templates/${template.id}`)).body;
    const created = await api(host, "POST", "/api/projects", { template_id: template.id });
    assert.equal(created.status, 201, `${template.id}: ${JSON.stringify(created.body)}`);
    const id = created.body.project.id as string;
    await run(host, await input(host, id, { text: "skip" }));
    const detail = (await api(host, "GET", `/api/projects/${id}`)).body;
    assert.equal(detail.phase, "iteration", template.id);
    assert.equal(detail.tasks.length, template.task_count, template.id);
    // Names, priorities and dependencies (by key) as the template has them.
    const keyOf = new Map(
      detail.tasks.map((task: { id: string; key: string }) => [task.id, task.key]),
    );
    assert.deepEqual(
      detail.tasks.map((
        task: { key: string; name: string; priority: number; depends_on: string[] },
      ) => ({
        key: task.key,
        name: task.name,
        priority: task.priority,
        depends_on: task.depends_on.map((dep) => keyOf.get(dep)),
      })),
      shown.tasks.map((
        task: { key: string; name: string; priority: number; depends_on: string[] },
      ) => ({
        key: task.key,
        name: task.name,
        priority: task.priority,
        depends_on: task.depends_on,
      })),
      template.id,
    );
  }
  assert.equal(
    chatRequests(fake).filter((request) =>
      /plan|refine/.test(request.headers["x-synth-purpose"] ?? "")
    ).length,
    0,
    "no template start asks the model for a plan",
  );
});
