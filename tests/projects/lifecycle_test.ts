/**
 * More of spec/projects.md §16: WebSocket updates to the owner only and
 * distinct ids under concurrency (1), what the execute request holds (4),
 * the iteration limit and resume (8), focus and archive-resume (10), the
 * active-project limit and concurrent inputs (12), a template answer that
 * refines once (14), commands (15), a provider that is down (19) and
 * another user (20).
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chatRequests } from "../llm/helpers.ts";
import { connect } from "../ws/client.ts";
import { answer, api, planOf, projectHost, turnEnd } from "./helpers.ts";
import type { TestHost } from "@synth/testing";
import { LOCAL_PRINCIPAL } from "../../src/http/principal.ts";

const CLARIFY = answer({ acknowledgment: "", questions: ["What for?"], uncertainties: [] });
const step = (progress: number, output = "work") =>
  answer({ output, explanation: "", questions: [], taskProgress: progress, blockers: [] });

async function input(host: TestHost, id: string, body: Record<string, unknown>) {
  const response = await api(host, "POST", `/api/projects/${id}/input`, body);
  assert.equal(response.status, 202, JSON.stringify(response.body));
  return await turnEnd(host, response.body.turn_id);
}

async function started(host: TestHost, description: string) {
  const created = await api(host, "POST", "/api/projects", { description });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await turnEnd(host, created.body.turn.turn_id);
  return created.body.project.id as string;
}

const command = async (host: TestHost, message: string, threadId?: string) =>
  (await api(host, "POST", "/api/chat", { message, ...(threadId ? { thread_id: threadId } : {}) }))
    .body;

Deno.test("the owner's socket gets started and questions updates in order; 50 concurrent creates get 50 distinct ids", async () => {
  await using fake = await startFakeLlm();
  fake.script({ clarify: [{ ...CLARIFY, times: 60 }] });
  await using host = await projectHost(fake, {
    config: { gdil: { maxActiveProjects: 50 }, chat: { maxQueue: 60 } },
  });
  const server = host.listen();
  const socket = await connect(server.url);
  socket.send("hello", { topics: ["projects"] });
  await socket.next("welcome");
  const created = await api(host, "POST", "/api/projects", { description: "Write a poem" });
  const id = created.body.project.id;
  await turnEnd(host, created.body.turn.turn_id);
  const first = await socket.next("project.update");
  const second = await socket.next("project.update");
  assert.equal(first.data.project_id, id);
  assert.deepEqual(
    [(first.data.event as { type: string }).type, (second.data.event as { type: string }).type],
    ["started", "questions"],
  );
  assert.equal((second.data.event as { seq: number }).seq, 2);
  assert.equal((second.data.project as { awaiting: string }).awaiting, "answers");
  socket.close();

  const many = await Promise.all(
    Array.from(
      { length: 49 },
      (_, i) => api(host, "POST", "/api/projects", { description: `Job ${i}` }),
    ),
  );
  assert.ok(
    many.every((item) => item.status === 201),
    JSON.stringify(many.find((m) => m.status !== 201)?.body),
  );
  const ids = new Set([id, ...many.map((item) => item.body.project.id)]);
  assert.equal(ids.size, 50);
  await Promise.all(many.map((item) => turnEnd(host, item.body.turn.turn_id)));
  await server.shutdown();
});

Deno.test("the execute request holds the user's latest message, the task's earlier outputs and the completed task names", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    clarify: [CLARIFY],
    plan: [answer(planOf(4))],
    execute: [step(1, "OUTPUT-ONE"), step(0.5, "OUTPUT-TWO-A"), step(0.8, "OUTPUT-TWO-B")],
  });
  await using host = await projectHost(fake);
  const id = await started(host, "Four steps");
  await input(host, id, { text: "anything" });
  await input(host, id, { intent: "accept" });
  await input(host, id, { intent: "continue" });
  await input(host, id, { intent: "continue" });
  await input(host, id, { text: "please use tabs for indentation" });
  const last = chatRequests(fake).filter((request) =>
    request.headers["x-synth-purpose"] === "execute"
  ).at(-1)!;
  const body = JSON.stringify(last.body);
  assert.match(body, /please use tabs for indentation/);
  assert.match(body, /OUTPUT-TWO-A/, "the task's earlier output");
  assert.match(body, /Completed tasks: Task 1/);
  assert.match(body, /OUTPUT-ONE/, "the completed dependency's output");
});

Deno.test("iterationsPerTask 1 and a task needing 2 iterations → iteration_limit; after resume the next input iterates", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    clarify: [CLARIFY],
    plan: [answer(planOf(4))],
    // Task 1 needs two iterations, so the budget of 4 (4 tasks × 1) runs out before task 4.
    execute: [step(0.5), step(1), step(1), step(1), step(1)],
  });
  await using host = await projectHost(fake, { config: { gdil: { iterationsPerTask: 1 } } });
  const id = await started(host, "Tight budget");
  await input(host, id, { text: "go" });
  await input(host, id, { intent: "accept" });
  await input(host, id, { intent: "continue", steps: 10 });
  const limited = (await api(host, "GET", `/api/projects/${id}`)).body;
  assert.equal(limited.phase, "exit");
  assert.equal(limited.exit_reason, "iteration_limit");
  assert.equal(limited.iteration_count, 4);
  assert.equal(limited.tasks_done, 3);
  const executes = () =>
    chatRequests(fake).filter((request) => request.headers["x-synth-purpose"] === "execute").length;
  assert.equal(executes(), 4, "no model call once the limit is reached");
  const resumed = await api(host, "POST", `/api/projects/${id}/resume`);
  assert.equal(resumed.body.project.phase, "iteration");
  assert.equal(resumed.body.project.max_iterations, 5);
  await input(host, id, { intent: "continue" });
  const done = (await api(host, "GET", `/api/projects/${id}`)).body;
  assert.equal(done.iteration_count, 5);
  assert.equal(done.exit_reason, "completed");
});

Deno.test("stopping with half the tasks done and resuming keeps the iteration budget it had, within the owner's limit of active projects", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    clarify: [CLARIFY, CLARIFY],
    plan: [answer(planOf(4))],
    execute: [step(1), step(1), step(1), step(1)],
  });
  await using host = await projectHost(fake, { config: { gdil: { maxActiveProjects: 1 } } });
  const id = await started(host, "Quick work");
  await input(host, id, { text: "go" });
  await input(host, id, { intent: "accept" });
  await input(host, id, { intent: "continue", steps: 2 });
  const before = (await api(host, "GET", `/api/projects/${id}`)).body;
  assert.deepEqual([before.tasks_done, before.iteration_count, before.max_iterations], [2, 2, 12]);
  await input(host, id, { text: "I think we can stop here" });
  assert.equal((await api(host, "GET", `/api/projects/${id}`)).body.exit_reason, "user_stop");
  // Another project is active now: resuming this one would make two, over the limit of 1.
  const other = await started(host, "Something else");
  const refused = await api(host, "POST", `/api/projects/${id}/resume`);
  assert.equal(refused.status, 409);
  assert.equal(refused.body.error.code, "GDIL_TOO_MANY_ACTIVE");
  assert.equal((await api(host, "GET", `/api/projects/${id}`)).body.phase, "exit", "unchanged");
  await api(host, "POST", `/api/projects/${other}/pause`);
  // Two tasks left at three iterations each would make 2 + 6 = 8: the budget stays 12.
  const resumed = await api(host, "POST", `/api/projects/${id}/resume`);
  assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
  assert.equal(resumed.body.project.max_iterations, 12);
});

Deno.test("focus changes no phase; an archived, previously paused project resumes to its original phase; a 6th active project is refused until one pauses", async () => {
  await using fake = await startFakeLlm();
  fake.script({ clarify: [{ ...CLARIFY, times: 10 }] });
  await using host = await projectHost(fake);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(await started(host, `Project ${i}`));
  const metrics = await (await host.request("/metrics")).text();
  assert.match(metrics, /^synth_active_projects 5$/m);
  const sixth = await api(host, "POST", "/api/projects", { description: "One too many" });
  assert.equal(sixth.status, 409);
  assert.equal(sixth.body.error.code, "GDIL_TOO_MANY_ACTIVE");
  const focused = await api(host, "POST", `/api/projects/${ids[0]}/focus`);
  assert.equal(focused.body.project.phase, "initialization");
  assert.equal(focused.body.changed, false);
  await api(host, "POST", `/api/projects/${ids[1]}/pause`);
  const archived = await api(host, "POST", `/api/projects/${ids[1]}/archive`);
  assert.equal(archived.body.project.phase, "archived");
  assert.equal(
    (await api(host, "POST", "/api/projects", { description: "Now it fits" })).status,
    201,
  );
  const back = await api(host, "POST", `/api/projects/${ids[1]}/resume`);
  assert.equal(back.status, 409, "resuming it would make a 7th active project");
  await api(host, "POST", `/api/projects/${ids[2]}/pause`);
  await api(host, "POST", `/api/projects/${ids[3]}/pause`);
  const resumed = await api(host, "POST", `/api/projects/${ids[1]}/resume`);
  assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
  assert.equal(resumed.body.project.phase, "initialization", "back to the phase it was paused in");
});

Deno.test("two inputs posted at once both get 202 and run in order", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    clarify: [CLARIFY],
    plan: [answer(planOf(4))],
    execute: [step(1, "FIRST"), step(1, "SECOND")],
  });
  await using host = await projectHost(fake);
  const id = await started(host, "Order matters");
  await input(host, id, { text: "go" });
  await input(host, id, { intent: "accept" });
  const [a, b] = await Promise.all([
    api(host, "POST", `/api/projects/${id}/input`, { intent: "continue" }),
    api(host, "POST", `/api/projects/${id}/input`, { intent: "continue" }),
  ]);
  assert.equal(a.status, 202);
  assert.equal(b.status, 202);
  await turnEnd(host, a.body.turn_id);
  await turnEnd(host, b.body.turn_id);
  const iterations = (await api(host, "GET", `/api/projects/${id}/iterations`)).body.items as Array<
    { output: string }
  >;
  assert.deepEqual(iterations.map((item) => item.output), ["FIRST", "SECOND"]);
});

Deno.test("an explicit intent the phase does not take is 409 and changes nothing; one queued behind a step that moved the phase on changes nothing", async () => {
  await using fake = await startFakeLlm();
  const model = Promise.withResolvers<void>();
  fake.script({
    clarify: [CLARIFY],
    plan: [{ ...answer(planOf(4)), timing: { heldUntil: model.promise } }],
    execute: [step(0.5)],
  });
  await using host = await projectHost(fake);
  const id = await started(host, "Refuse what does not fit");
  const refusedIn = async (phase: string, intents: string[]) => {
    const calls = chatRequests(fake).length;
    for (const intent of intents) {
      const response = await api(host, "POST", `/api/projects/${id}/input`, { intent });
      assert.equal(response.status, 409, `${intent} in ${phase}`);
      assert.equal(response.body.error.code, "GDIL_INVALID_PHASE");
      assert.equal(response.body.error.field, "intent");
    }
    const project = (await api(host, "GET", `/api/projects/${id}`)).body;
    assert.equal(project.phase, phase, "no change");
    assert.equal(chatRequests(fake).length, calls, "no model call");
    return project;
  };
  // "skip" is a template's start only; this project was described.
  await refusedIn("initialization", ["pause", "accept", "stop", "continue", "decline", "skip"]);
  const refusal = await api(host, "POST", `/api/projects/${id}/input`, { intent: "pause" });
  assert.equal(
    refusal.body.error.message,
    "A project in initialization takes answers, hesitate, retry, not pause",
  );

  // Two answers, both fitting initialization when posted; the plan the first asks for is held
  // until the second waits behind it, and moves the project on before the second runs.
  const first = await api(host, "POST", `/api/projects/${id}/input`, { text: "For greeting" });
  const second = await api(host, "POST", `/api/projects/${id}/input`, { intent: "answers" });
  assert.equal(first.status, 202);
  assert.equal(second.status, 202);
  model.resolve();
  await turnEnd(host, first.body.turn_id);
  await turnEnd(host, second.body.turn_id);
  const turn = (await api(host, "GET", `/api/turns/${second.body.turn_id}`)).body;
  const messages = (await api(host, "GET", `/api/threads/${turn.thread_id}/messages?order=desc`))
    .body.items as Array<{ role: string; content: string }>;
  assert.equal(
    messages.find((message) => message.role === "assistant")?.content,
    "The project is in planning now, which takes accept, adjust, decline, hesitate, retry: “answers” changed nothing.",
  );
  await refusedIn("planning", ["pause", "stop", "continue", "feedback", "answers", "skip"]);
  await input(host, id, { intent: "accept" });
  await refusedIn("iteration", ["accept", "decline", "answers", "adjust", "skip"]);
  assert.equal((await input(host, id, { intent: "continue" })).status, "completed");
});

Deno.test("deleting a project's thread forgets the conversation, not the project: it goes on in a new thread of its owner's", async () => {
  await using fake = await startFakeLlm();
  await using host = await projectHost(fake);
  const created = await api(host, "POST", "/api/projects", { template_id: "test-suite" });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const { id, thread_id: first } = created.body.project;
  const focusIn = async (threadId: string) =>
    await host.kernel.store.db.selectFrom("gdil_focus").select("project_id")
      .where("thread_id", "=", threadId).execute();
  assert.equal((await focusIn(first)).length, 1);
  assert.equal((await api(host, "DELETE", `/api/threads/${first}`)).status, 204);
  assert.deepEqual(await focusIn(first), [], "the deleted thread keeps no focus");

  // The next input makes the new thread: it is the owner's, named after the project. Two at
  // once share it.
  const [reply, other] = await Promise.all([
    api(host, "POST", `/api/projects/${id}/input`, { intent: "hesitate" }),
    api(host, "POST", `/api/projects/${id}/input`, { intent: "hesitate" }),
  ]);
  assert.equal(reply.status, 202, JSON.stringify(reply.body));
  assert.equal(other.body.thread_id, reply.body.thread_id);
  assert.equal((await turnEnd(host, reply.body.turn_id)).status, "completed");
  assert.equal((await turnEnd(host, other.body.turn_id)).status, "completed");
  const project = (await api(host, "GET", `/api/projects/${id}`)).body;
  assert.notEqual(project.thread_id, first);
  assert.equal(reply.body.thread_id, project.thread_id);
  assert.deepEqual(project.focused_in, [project.thread_id]);
  const thread = await api(host, "GET", `/api/threads/${project.thread_id}`);
  assert.equal(thread.status, 200);
  assert.equal(thread.body.title, project.name);
  assert.equal(project.phase, "initialization", "the project as it was");

  // Paused, its new thread deleted too, then resumed: it resumes into a third thread.
  assert.equal((await api(host, "POST", `/api/projects/${id}/pause`)).status, 200);
  assert.equal((await api(host, "DELETE", `/api/threads/${project.thread_id}`)).status, 204);
  const resumed = await api(host, "POST", `/api/projects/${id}/resume`);
  assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
  const third = resumed.body.project.thread_id;
  assert.ok(third !== first && third !== project.thread_id);
  assert.equal((await api(host, "GET", `/api/threads/${third}`)).status, 200);
  assert.deepEqual((await focusIn(third)).map((row) => row.project_id), [id]);
});

Deno.test("a template answer refines once and keeps the tasks", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    refine: [answer({
      brief: "A documentation site for the team's internal API, with tutorials.",
      endTransformation: "From scattered notes to a reviewed docs site",
    })],
  });
  await using host = await projectHost(fake);
  const created = await api(host, "POST", "/api/projects", { template_id: "documentation" });
  const id = created.body.project.id;
  const names = created.body.project.tasks.map((task: { name: string }) => task.name);
  await input(host, id, { text: "It is for the internal API; readers are new hires" });
  const detail = (await api(host, "GET", `/api/projects/${id}`)).body;
  assert.equal(detail.phase, "planning");
  assert.match(detail.brief, /documentation site/);
  assert.deepEqual(detail.tasks.map((task: { name: string }) => task.name), names);
  const purposes = chatRequests(fake).map((request) => request.headers["x-synth-purpose"]);
  assert.equal(purposes.filter((purpose) => purpose === "refine").length, 1);
  assert.equal(purposes.filter((purpose) => purpose === "plan").length, 0);
});

Deno.test("commands: /project, /projects, /project status before any task, a reserved word with other arguments, /project help, /templates (by category, an unknown one), /template, references", async () => {
  await using fake = await startFakeLlm();
  fake.script({ clarify: [CLARIFY] });
  await using host = await projectHost(fake);
  const made = await command(host, "/project Redesign the landing page");
  assert.equal(made.success, true, made.response);
  const id = made.data.project_id as string;
  await turnEnd(host, made.data.turn.turn_id);
  const state = (await api(host, "GET", "/api/state")).body;
  assert.equal(state.project?.id, id, "/api/state shows the focused project of the latest thread");
  assert.equal(state.current_subtask, null);
  const list = await command(host, "/projects");
  assert.match(list.response, /Redesign the landing page\s+initialization\s+0 %/);
  const status = await command(host, `/project status ${id.slice(4, 12)}`);
  assert.equal(status.success, true, status.response);
  assert.match(status.response, /current task: none yet; awaiting: answers/);
  const before = (await command(host, "/projects")).data.length;
  const reserved = await command(host, "/project status page redesign");
  assert.equal(reserved.success, false);
  assert.match(reserved.response, /\/project new status page redesign/);
  assert.equal((await command(host, "/projects")).data.length, before, "nothing was created");
  // "help" alone asks for the usage: no project is made of it.
  for (const asked of ["/project help", "/project --help"]) {
    const help = await command(host, asked);
    assert.equal(help.success, true);
    assert.match(help.response, /^Usage: \/project <description> \| new \| status/);
    assert.match(help.response, /\/project new help/);
  }
  assert.equal((await command(host, "/projects")).data.length, before, "no project called help");
  const templates = await command(host, "/templates");
  assert.equal(templates.data.length, 10);
  const category = templates.data[0].category as string;
  const inCategory = await command(host, `/templates ${category.toUpperCase()}`);
  assert.ok(inCategory.data.length >= 1);
  assert.ok(inCategory.data.every((item: { category: string }) => item.category === category));
  // A category no template has is refused, naming the ones there are (it answered nothing).
  const none = await command(host, "/templates knitting");
  assert.equal(none.success, false);
  assert.match(none.response, /No template is in the category "knitting"\. Categories: .+/);
  assert.equal(none.data.code, "GDIL_TEMPLATE_CATEGORY_NOT_FOUND");
  assert.ok(none.data.categories.includes(category));
  const template = await command(host, "/template web");
  assert.match(template.response, /Requirements & Architecture \(P1\)/);
  assert.equal(template.data.tasks[0].depends_on.length, 0, "the data is snake_case, as the API's");
  const unknown = await command(host, "/project status zzzzzzzz");
  assert.equal(unknown.success, false);
  assert.match(unknown.response, /No project/);
});

Deno.test("a provider that is down fails the turn with LLM_UNAVAILABLE and changes only last_error", async () => {
  await using fake = await startFakeLlm();
  fake.script({ clarify: [CLARIFY] });
  await using host = await projectHost(fake, { llm: { retry: { maxRetries: 0 } } });
  const id = await started(host, "Flaky provider");
  const before = (await api(host, "GET", `/api/projects/${id}`)).body;
  fake.script({ plan: [{ fault: { status: 503, message: "overloaded" }, times: 5 }] });
  const response = await api(host, "POST", `/api/projects/${id}/input`, { text: "go" });
  const ended = await turnEnd(host, response.body.turn_id);
  assert.equal(ended.status, "failed");
  const after = (await api(host, "GET", `/api/projects/${id}`)).body;
  assert.equal(after.phase, before.phase);
  assert.equal(after.tasks.length, 0);
  assert.ok(after.last_error, "last_error is set");
  assert.notEqual(after.last_error.code, "GDIL_LLM_INVALID_OUTPUT");
});

Deno.test("cancelling a project turn stops its step's model call; the project is not left busy", async () => {
  await using fake = await startFakeLlm();
  fake.script({ clarify: [CLARIFY] });
  await using host = await projectHost(fake, { llm: { retry: { maxRetries: 0 } } });
  const id = await started(host, "A slow plan");
  fake.script({ plan: [{ fault: { hangMs: 30_000 } }] });
  const response = await api(host, "POST", `/api/projects/${id}/input`, { text: "go" });
  assert.equal(response.status, 202, JSON.stringify(response.body));
  const turnId = response.body.turn_id as string;
  const ended = turnEnd(host, turnId);
  await fake.untilRequests(1, (request) => request.headers["x-synth-purpose"] === "plan");
  const cancel = await api(host, "POST", `/api/turns/${turnId}/cancel`);
  assert.equal(cancel.status, 202, JSON.stringify(cancel.body));
  assert.equal((await ended).status, "cancelled");
  const after = (await api(host, "GET", `/api/projects/${id}`)).body;
  assert.equal(after.busy, false, JSON.stringify(after));
  assert.equal(after.phase, "initialization");
  // The step's call was aborted (without the turn's signal it waited out the model's 30 s).
  assert.equal(after.last_error?.code, "LLM_ABORTED", JSON.stringify(after.last_error));
});

Deno.test("a cancelled multi-step run keeps the iterations it finished", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    clarify: [CLARIFY],
    plan: [answer(planOf(4))],
    execute: [step(0.5, "FIRST"), { fault: { hangMs: 30_000 } }],
  });
  await using host = await projectHost(fake, { llm: { retry: { maxRetries: 0 } } });
  const id = await started(host, "Three steps, cut short");
  await input(host, id, { text: "anything" });
  await input(host, id, { intent: "accept" });
  const response = await api(host, "POST", `/api/projects/${id}/input`, {
    intent: "continue",
    steps: 3,
  });
  assert.equal(response.status, 202, JSON.stringify(response.body));
  const turnId = response.body.turn_id as string;
  const ended = turnEnd(host, turnId);
  await fake.untilRequests(2, (request) => request.headers["x-synth-purpose"] === "execute");
  await api(host, "POST", `/api/turns/${turnId}/cancel`);
  assert.equal((await ended).status, "cancelled");
  const after = (await api(host, "GET", `/api/projects/${id}`)).body;
  assert.equal(after.busy, false);
  assert.equal(after.iteration_count, 1, "the first iteration is kept");
  assert.equal(after.last_error?.code, "LLM_ABORTED", JSON.stringify(after.last_error));
});

Deno.test("another user gets 404 and none of the project's updates", async () => {
  await using fake = await startFakeLlm();
  fake.script({ clarify: [CLARIFY] });
  await using host = await projectHost(fake);
  const id = await started(host, "Private plans");
  const other = host.as({ userId: "usr_other", role: "operator" });
  const response = await other.request(`/api/projects/${id}`);
  assert.equal(response.status, 404);
  await response.body?.cancel();
  const listed = await (await other.request("/api/projects")).json();
  assert.deepEqual(listed.items, []);
  // The owner focuses it only in a thread of their own: not another user's, not an unknown one.
  const theirs = await (await other.request("/api/threads", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  })).json();
  for (const threadId of [theirs.id, "thr_DOESNOTEXIST"]) {
    for (const action of ["focus", "resume", "pause"]) {
      const refused = await api(host, "POST", `/api/projects/${id}/${action}`, {
        thread_id: threadId,
      });
      assert.equal(refused.status, 404, `${action} in ${threadId}`);
      assert.equal(refused.body.error.code, "MIND_THREAD_NOT_FOUND");
      assert.equal(refused.body.error.field, "thread_id");
    }
  }
  const detail = (await api(host, "GET", `/api/projects/${id}`)).body;
  assert.equal(detail.focused_in.length, 1, JSON.stringify(detail.focused_in));
});

Deno.test("while a step runs, pause, archive and rename are refused (409 GDIL_BUSY) and the step's result stands; after it, pause works", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    clarify: [CLARIFY],
    plan: [answer(planOf(4))],
    execute: [{ fault: { hangMs: 30_000 } }],
  });
  await using host = await projectHost(fake, { llm: { retry: { maxRetries: 0 } } });
  const id = await started(host, "Held by its step");
  await input(host, id, { text: "anything" });
  await input(host, id, { intent: "accept" });
  const response = await api(host, "POST", `/api/projects/${id}/input`, { intent: "continue" });
  const turnId = response.body.turn_id as string;
  const ended = turnEnd(host, turnId);
  await fake.untilRequests(1, (request) => request.headers["x-synth-purpose"] === "execute");
  for (
    const [method, path, body] of [
      ["POST", `/api/projects/${id}/pause`, {}],
      ["POST", `/api/projects/${id}/archive`, {}],
      ["PATCH", `/api/projects/${id}`, { name: "Renamed meanwhile" }],
    ] as const
  ) {
    const refused = await api(host, method, path, body);
    assert.equal(refused.status, 409, `${method} ${path}: ${JSON.stringify(refused.body)}`);
    assert.equal(refused.body.error.code, "GDIL_BUSY");
    assert.match(refused.body.error.message, /A step of this project is running/);
  }
  await api(host, "POST", `/api/turns/${turnId}/cancel`);
  assert.equal((await ended).status, "cancelled");
  const after = (await api(host, "GET", `/api/projects/${id}`)).body;
  assert.equal(after.phase, "iteration");
  assert.equal(after.name, "Greeter CLI", "the plan's name, not the refused rename");
  // The failed iteration left its task as it was: not started, no orphan in_progress.
  assert.deepEqual(after.tasks.map((task: { status: string }) => task.status), [
    "ready",
    "pending",
    "pending",
    "pending",
  ]);
  assert.equal(after.tasks[0].started_at, null);
  const paused = await api(host, "POST", `/api/projects/${id}/pause`, {});
  assert.equal(paused.status, 200, JSON.stringify(paused.body));
  assert.equal(paused.body.project.phase, "paused");
});

Deno.test("a project deleted with its owner while its step runs stays deleted: the step ends without bringing it back", async () => {
  // The execute call is answered once the project is gone.
  const { promise: gone, resolve: goneNow } = Promise.withResolvers<void>();
  await using fake = await startFakeLlm();
  fake.script({
    clarify: [CLARIFY],
    plan: [answer(planOf(4))],
    execute: [{ ...step(0.5), timing: { heldUntil: gone } }],
  });
  await using host = await projectHost(fake, { llm: { retry: { maxRetries: 0 } } });
  const id = await started(host, "Deleted mid-step");
  await input(host, id, { text: "anything" });
  await input(host, id, { intent: "accept" });
  const owner = LOCAL_PRINCIPAL.userId; // who the test host's requests act as
  // The owner's account goes while the execute call is out (what DELETE /api/users/{id} does).
  void fake.untilRequests(1, (request) => request.headers["x-synth-purpose"] === "execute")
    .then(async () => {
      const work: Promise<unknown>[] = [];
      host.kernel.bus.publish("user.deleting", {
        userId: owner,
        username: "owner",
        actor: "test",
        waitUntil: (promise) => void work.push(promise),
      });
      await Promise.all(work);
      goneNow();
    });
  const response = await api(host, "POST", `/api/projects/${id}/input`, { intent: "continue" });
  const ended = await turnEnd(host, response.body.turn_id);
  await gone;
  assert.equal(ended.status, "failed");
  const lookup = await api(host, "GET", `/api/projects/${id}`);
  assert.equal(lookup.status, 404, "not brought back by the step's save");
  await assert.rejects(Deno.stat(`${host.kernel.dataDir}/projects/${id}`), Deno.errors.NotFound);
});
