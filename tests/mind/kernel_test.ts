/**
 * The mind kernel's acceptance items (spec/mind.md §17 items 1, 2, 7, 8,
 * 34, 36–39) with the fake LLM and the fake clock.
 */
import assert from "node:assert/strict";
import { definePlugin, MIND_HOOKS, type PluginState, pluginState } from "@synth/kernel";
import { sql } from "kysely";
import { DatabaseSync } from "node:sqlite";
import { DATABASE_FILE } from "../../src/store/store.ts";
import { makeTestDir } from "@synth/testing";
import { type FakeLlm, startFakeLlm } from "../fakes/llm/mod.ts";
import { chat, mindHost, newThread, replyRequests, RFC3339 } from "./helpers.ts";

Deno.test("a turn's jobs are queued just after its reply; the scheduler is not idle before they are", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const mind = host.kernel.mind;
  const handle = await mind.submit({ userId: "local", role: "admin", text: "Hello there" });
  assert.equal((await handle.done).status, "completed");
  // The reply is out; its forecast job is queued in a later task, and idle() waits for it.
  await mind.scheduler.idle();
  const jobs = await host.kernel.store.db.selectFrom("mind_jobs").select(["kind", "status"])
    .where("turn_id", "=", handle.turnId).execute();
  assert.deepEqual(jobs.map((job) => ({ ...job })), [{ kind: "forecast", status: "done" }]);
  // The stored turn has all twelve stage times, written after the reply.
  assert.equal((await mind.turn(handle.turnId))!.stages.length, 12);
});

Deno.test("stages run in order; the ledger holds one reply call when the turn completes", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const mind = host.kernel.mind;
  // The ledger as the completion event finds it (background jobs start only after it).
  const atCompletion = Promise.withResolvers<string[]>();
  host.kernel.bus.subscribe("mind.turn.completed", () => {
    atCompletion.resolve(
      host.kernel.llm.ledger.list({ limit: 10 }).then(({ items }) =>
        items.map((row) => row.purpose)
      ),
    );
  });
  const handle = await mind.submit({ userId: "local", role: "admin", text: "Hello there" });
  const outcome = await handle.done;
  assert.equal(outcome.status, "completed");
  const stages = handle.events.events.flatMap((event) =>
    event.type === "stage" ? [event.stage] : []
  );
  assert.deepEqual(stages, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const types = handle.events.events.map((event) => event.type);
  const stageAt = (stage: number) =>
    handle.events.events.findIndex((event) => event.type === "stage" && event.stage === stage);
  const firstToken = types.indexOf("chat.token");
  assert.ok(firstToken > stageAt(7) && firstToken < stageAt(8), "tokens stream in stage 7");
  assert.deepEqual(types.slice(-2), ["chat.done", "turn.influence"]);
  assert.deepEqual(await atCompletion.promise, ["reply"], "one call on the critical path");
  const stored = await mind.turn(handle.turnId);
  assert.deepEqual(stored!.stages.map((stage) => stage.name), [
    "validate",
    "appraise",
    "resolve",
    "recall",
    "preassess",
    "fragments",
    "reply",
    "postassess",
    "calibrate",
    "persist",
    "background",
    "emit",
  ]);
});

Deno.test("concurrent messages of two users run one at a time with consecutive seq; a full queue is 429", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ reply: { text: "slow" }, timing: { firstTokenDelayMs: 30 } }],
  });
  await using host = await mindHost(fake, { config: { chat: { maxQueue: 1 } } });
  const mind = host.kernel.mind;
  const order: string[] = [];
  host.kernel.bus.subscribe("mind.turn.completed", (event) => {
    order.push(`done ${event.data.turnId}`);
  });
  // Both turns' stage events, in the order they happened.
  const stages: string[] = [];
  host.kernel.bus.subscribe("mind.turn.event", (event) => {
    const turn = event.data.event as { type: string; turnId: string; stage?: number };
    if (turn.type === "stage") stages.push(`${turn.turnId} ${turn.stage}`);
  });
  const a = await mind.submit({ userId: "ada", role: "operator", text: "first" });
  const b = await mind.submit({ userId: "bob", role: "operator", text: "second" });
  await assert.rejects(
    () => mind.submit({ userId: "cy", role: "operator", text: "third" }),
    (error: Error & { code?: string; status?: number }) =>
      error.code === "CHAT_QUEUE_FULL" && error.status === 429,
  );
  const overHttp = await host.as({ userId: "cy", role: "operator" }).request("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: "third, over HTTP" }),
  });
  assert.equal(overHttp.status, 429);
  assert.equal((await overHttp.json()).error.code, "CHAT_QUEUE_FULL");
  // Every 429 says when to try again (server.md §2): no turn has ended yet, so one second.
  assert.equal(overHttp.headers.get("retry-after"), "1");
  assert.equal(b.seq, a.seq + 1);
  assert.equal(b.queuePosition, 1);
  const [first, second] = await Promise.all([a.done, b.done]);
  assert.equal(first.status, "completed");
  assert.equal(second.status, "completed");
  assert.deepEqual(order, [`done ${a.turnId}`, `done ${b.turnId}`]);
  const aEnd = stages.indexOf(`${a.turnId} 12`);
  const bStage2 = stages.indexOf(`${b.turnId} 2`);
  assert.ok(aEnd >= 0 && bStage2 >= 0, stages.join(", "));
  assert.ok(bStage2 > aEnd, `the second turn's stage 2 after the first's stage 12: ${stages}`);
  assert.deepEqual(
    stages.filter((entry) => entry.startsWith(a.turnId)).length,
    12,
    "the first turn's 12 stages",
  );
});

Deno.test("one user cannot fill the queue: past chat.maxQueuePerUser their turn is 429, another user's still waits", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ reply: { text: "slow" }, timing: { firstTokenDelayMs: 30 } }],
  });
  await using host = await mindHost(fake, {
    config: { chat: { maxQueue: 3, maxQueuePerUser: 1 } },
  });
  const mind = host.kernel.mind;
  // The running turn holds no waiting slot; the next one of the same user does.
  const running = await mind.submit({ userId: "ada", role: "operator", text: "first" });
  const waiting = await mind.submit({ userId: "ada", role: "operator", text: "second" });
  await assert.rejects(
    () => mind.submit({ userId: "ada", role: "operator", text: "third" }),
    (error: Error & { code?: string; status?: number; details?: Record<string, unknown> }) =>
      error.code === "CHAT_QUEUE_FULL" && error.status === 429 &&
      error.details?.per_user === 1 &&
      /^You already have 1 message waiting, the most one person may; try again in about \d+ s$/
        .test(error.message),
  );
  const overHttp = await host.as({ userId: "ada", role: "operator" }).request("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: "third, over HTTP" }),
  });
  assert.equal(overHttp.status, 429);
  assert.equal((await overHttp.json()).error.code, "CHAT_QUEUE_FULL");
  // The queue itself has room: another user is heard.
  const other = await mind.submit({ userId: "bob", role: "operator", text: "mine" });
  assert.equal(other.queuePosition, 2);
  const outcomes = await Promise.all([running.done, waiting.done, other.done]);
  assert.deepEqual(outcomes.map((outcome) => outcome.status), [
    "completed",
    "completed",
    "completed",
  ]);
  // Once ada's turn has left the queue, she may queue again.
  const again = await mind.submit({ userId: "ada", role: "operator", text: "fourth" });
  assert.equal((await again.done).status, "completed");
});

Deno.test("by default one user may take one fewer waiting place than chat.maxQueue (4): the fourth is 429", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ reply: { text: "slow" }, timing: { firstTokenDelayMs: 30 } }],
  });
  await using host = await mindHost(fake);
  const mind = host.kernel.mind;
  const submit = (text: string) => mind.submit({ userId: "ada", role: "operator", text });
  const turns = [await submit("running")];
  for (const text of ["one", "two", "three"]) turns.push(await submit(text));
  await assert.rejects(
    () => submit("four"),
    (error: Error & { code?: string; details?: Record<string, unknown> }) =>
      error.code === "CHAT_QUEUE_FULL" && error.details?.per_user === 3,
  );
  for (const turn of turns) assert.equal((await turn.done).status, "completed");
});

Deno.test("/feedback bad applies one negative dp; a later good on the same turn changes the outcome without an impulse", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const first = await chat(host, "Summarise the notes");
  const threadId = first.body.thread_id as string;
  const before = host.kernel.mind.affect().p;
  const bad = await chat(host, "/feedback bad too long", threadId);
  assert.equal(bad.body.success, true);
  const afterBad = host.kernel.mind.affect().p;
  assert.ok(afterBad < before, `${afterBad} < ${before}`);
  const good = await chat(host, "/feedback good", threadId);
  assert.match(good.body.response as string, /changed to good/);
  assert.equal(host.kernel.mind.affect().p, afterBad, "no second impulse");
  const turn = await host.kernel.store.db.selectFrom("mind_turns").select("feedback")
    .where("id", "=", first.body.turn_id as string).executeTakeFirstOrThrow();
  assert.equal(turn.feedback, "good");
  const impulses = await host.kernel.store.db.selectFrom("mind_events").selectAll()
    .where("type", "=", "affect.impulse").execute();
  assert.equal(impulses.length, 1);
});

Deno.test("reply temperature is base + gain·(a − baseline) + offset, clamped to the provider's range", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake, { chain: ["anthropic"] });
  const mind = host.kernel.mind;
  // Arousal far above its baseline: 0.7 + 0.15·(1 − 0.25) = 0.8125 (within the profile's [0.2, 1.0]).
  await mind.applyImpulses([{ label: "test", da: 0.25, reason: "t" }], "test");
  await mind.applyImpulses([{ label: "test", da: 0.25, reason: "t" }], "test");
  const a = mind.affect().a;
  const expected = Math.min(1, 0.7 + 0.15 * (a - 0.25));
  const reply = await chat(host, "Tell me something");
  assert.equal(reply.status, 200);
  const sent = (replyRequests(fake).at(-1)!.body as { temperature: number }).temperature;
  assert.ok(Math.abs(sent - expected) < 1e-12, `${sent} vs ${expected}`);
  assert.ok(sent <= 1);
  const influence = await host.kernel.mind.influence(reply.body.turn_id as string);
  assert.deepEqual(influence!.record.generation.components, {
    base: 0.7,
    affect: 0.15 * (a - 0.25),
    calibration: 0,
    clamped: false,
  });
});

Deno.test("a turn's influence record: its user and an administrator read it; another user and an unknown turn get 404", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const ada = host.as({ userId: "ada", role: "operator" });
  const bob = host.as({ userId: "bob", role: "operator" });
  const reply = await chat(ada, "Summarise the notes");
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  const path = `/api/turns/${reply.body.turn_id}/influence`;
  const own = await ada.request(path);
  assert.equal(own.status, 200);
  assert.equal((await own.json()).turn_id, reply.body.turn_id);
  const admin = await host.request(path);
  assert.equal(admin.status, 200);
  assert.equal((await admin.json()).turn_id, reply.body.turn_id);
  for (
    const [who, url] of [[bob, path], [
      ada,
      "/api/turns/turn_00000000000000000000000000/influence",
    ]] as const
  ) {
    const refused = await who.request(url);
    assert.equal(refused.status, 404);
    const body = await refused.json();
    assert.equal(body.error.code, "MIND_TURN_NOT_FOUND", "as at /api/turns/{id}");
    assert.ok(!("fragments" in body), "nothing of the record");
  }
});

Deno.test("a profile allowing 1.5 still sends Anthropic at most 1.0, and the influence record says it was clamped", async () => {
  await using fake = await startFakeLlm();
  const dir = await makeTestDir("synth-mind-hot-");
  try {
    // JSON is YAML: a profile whose bounds reach past Anthropic's maximum of 1.
    await Deno.writeTextFile(
      `${dir}/hot.yaml`,
      JSON.stringify({
        id: "hot",
        extends: "empathetic",
        generation: { temperature: 1.2, temperatureBounds: [0.2, 1.5] },
      }),
    );
    await using host = await mindHost(fake, {
      chain: ["anthropic"],
      config: { mind: { profile: "hot", profilesDir: dir } },
    });
    const reply = await chat(host, "Tell me something");
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const sent = (replyRequests(fake).at(-1)!.body as { temperature: number }).temperature;
    assert.equal(sent, 1);
    const { record } = (await host.kernel.mind.influence(reply.body.turn_id as string))!;
    assert.equal(record.generation.temperature, 1, "the record says what was sent");
    assert.equal(record.generation.components.base, 1.2);
    assert.equal(record.generation.components.clamped, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a model without temperature gets none, and the influence record says why", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake, {
    llm: {
      roles: {
        reply: [{ provider: "openai", model: "o-reasoner", temperature: "unsupported" }],
      },
    },
  });
  const reply = await chat(host, "Hi");
  const body = replyRequests(fake).at(-1)!.body as Record<string, unknown>;
  assert.equal("temperature" in body, false);
  const influence = await host.kernel.mind.influence(reply.body.turn_id as string);
  assert.equal(influence!.record.generation.temperature, null);
  assert.equal(influence!.record.generation.temperatureNote, "the model takes no temperature");
});

Deno.test("over the system budget the lowest-priority fragments are dropped first and recorded", async () => {
  const filler = definePlugin({
    manifest: { id: "filler", version: "1.0.0", isolation: "in_process" },
    setup(ctx) {
      ctx.hooks.on(MIND_HOOKS.fragments, () => [
        {
          module: "filler",
          key: "low",
          section: "state",
          priority: 5,
          text: "L".repeat(600),
          reason: "low",
        },
        {
          module: "filler",
          key: "mid",
          section: "state",
          priority: 50,
          text: "M".repeat(600),
          reason: "mid",
        },
        {
          module: "filler",
          key: "keep",
          section: "instructions",
          priority: 100,
          text: "K".repeat(40),
          reason: "k",
        },
      ]);
    },
  });
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake, {
    plugins: [filler],
    config: { mind: { prompt: { maxSystemTokens: 400 } } },
  });
  const reply = await chat(host, "Hi");
  const { record } = (await host.kernel.mind.influence(reply.body.turn_id as string))!;
  const dropped = record.sections.filter((section) => section.dropped);
  const kept = record.sections.filter((section) => !section.dropped);
  assert.ok(
    dropped.some((section) => section.id === "filler/low"),
    "the lowest priority went first",
  );
  assert.ok(
    kept.some((section) => section.id === "filler/mid"),
    "only as much as needed is dropped",
  );
  assert.ok(kept.reduce((sum, section) => sum + section.tokens, 0) <= 400);
  for (const section of dropped) {
    assert.ok(section.priority < 100);
    for (const other of kept) {
      if (other.priority < 100) {
        assert.ok(section.priority <= other.priority, `${section.id} before ${other.id}`);
      }
    }
  }
  const system = (replyRequests(fake).at(-1)!.body as { messages: Array<{ content: string }> })
    .messages[0]!.content;
  assert.ok(!system.includes("LLLL"));
  assert.ok(system.includes("MMMM") && system.includes("KKKK"));
  assert.ok(system.indexOf("MMMM") < system.indexOf("KKKK"), "state before instructions");
});

Deno.test("a throwing psyche hook still completes the turn, recorded as plugin.error and degraded", async () => {
  const hanging = Promise.withResolvers<void>();
  const broken = definePlugin({
    manifest: { id: "psyche_broken", version: "1.0.0", isolation: "in_process" },
    setup(ctx) {
      ctx.hooks.on(MIND_HOOKS.preassess, () => {
        throw new Error("boom");
      });
      ctx.hooks.on(MIND_HOOKS.fragments, () => {
        hanging.resolve();
        return new Promise(() => {}); // never answers
      });
    },
  });
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake, { plugins: [broken] });
  const handle = await host.kernel.mind.submit({ userId: "local", role: "admin", text: "Hello" });
  await hanging.promise;
  await host.clock.tick(2_000);
  const outcome = await handle.done;
  assert.equal(outcome.status, "completed");
  const { record } = (await host.kernel.mind.influence(handle.turnId))!;
  assert.deepEqual(record.degraded, ["psyche_broken"]);
  const errors = await host.kernel.store.db.selectFrom("mind_events").selectAll()
    .where("type", "=", "plugin.error").execute();
  assert.deepEqual(errors.map((row) => JSON.parse(row.data).hook).sort(), [
    "mind.fragments",
    "mind.preassess",
  ]);
});

Deno.test("a turn that waits is recorded as queued at once; one that starts at once is recorded by stage 1", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const mind = host.kernel.mind;
  const first = await mind.submit({ userId: "local", role: "admin", text: "First" });
  // Readable (and so cancellable) before its first transaction has committed.
  assert.equal((await mind.turn(first.turnId))?.userId, "local");
  const second = await mind.submit({ userId: "local", role: "admin", text: "Second" });
  assert.equal(first.queuePosition, 0);
  assert.equal(second.queuePosition, 1);
  assert.equal((await mind.turn(second.turnId))?.status, "queued");
  assert.equal((await first.done).status, "completed");
  assert.equal((await second.done).status, "completed");
  const rows = await host.kernel.store.db.selectFrom("mind_turns").select(["seq", "status"])
    .orderBy("seq").execute();
  assert.deepEqual(rows.map((row) => ({ ...row })), [
    { seq: 1, status: "completed" },
    { seq: 2, status: "completed" },
  ]);
});

Deno.test("plugin state written by a persist hook that then fails is not what the plugin reads next", async () => {
  let state: PluginState | undefined;
  let fail = false;
  const counter = definePlugin({
    manifest: { id: "psyche_counter", version: "1.0.0", isolation: "in_process" },
    setup(ctx) {
      state = pluginState(ctx.db, ctx.clock, "psyche_counter");
      ctx.hooks.on(MIND_HOOKS.persist, async ({ view, db }) => {
        await state!.set("last", view.message.text, db);
        if (fail) throw new Error("boom after the write");
      });
    },
  });
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake, { plugins: [counter] });
  const first = await chat(host, "first message");
  assert.equal(await state!.get("last"), "first message");
  fail = true;
  const second = await chat(host, "second message", first.body.thread_id as string);
  assert.equal(second.status, 200, "a failing plugin loses its rows, not the turn");
  // The write was rolled back with the plugin's savepoint: the kept value is dropped too.
  assert.equal(await state!.get("last"), "first message");
  const row = await host.kernel.store.db.selectFrom("kv").select("value")
    .where("namespace", "=", "psyche_counter").where("key", "=", "last").executeTakeFirstOrThrow();
  assert.equal(JSON.parse(row.value), "first message");
});

Deno.test("with the LLM down the turn fails with its code, stores no reply and keeps the appraisal impulses", async () => {
  await using fake = await startFakeLlm({ scenes: [{ fault: { status: 401 } }] });
  await using host = await mindHost(fake);
  const baseline = host.kernel.mind.affect().p;
  const response = await chat(host, "This is awful and I hate it");
  assert.equal(response.status, 503);
  assert.equal((response.body.error as { code: string }).code, "LLM_UNAVAILABLE");
  const details =
    (response.body.error as { details: { turn_id: string; thread_id: string } }).details;
  const turn = await host.kernel.mind.turn(details.turn_id);
  assert.equal(turn!.status, "failed");
  assert.equal(turn!.error!.code, "LLM_UNAVAILABLE");
  const messages = await host.kernel.mind.conversations!.threadWindow(details.thread_id, {
    maxTokens: 10_000,
  });
  assert.deepEqual(messages.map((message) => message.role), ["user"]);
  assert.ok(host.kernel.mind.affect().p < baseline, "the frustrated message still lowered p");
  const jobs = await host.kernel.store.db.selectFrom("mind_jobs").selectAll().execute();
  assert.deepEqual(jobs, []);
});

Deno.test("after a restart the thread history and the decayed affect are back", async () => {
  await using fake = await startFakeLlm();
  const dataDir = await makeTestDir("synth-mind-restart-");
  try {
    let threadId: string;
    let p: number;
    let stoppedAt: number;
    {
      await using host = await mindHost(fake, { dataDir });
      const first = await chat(host, "This is awful, I hate it");
      threadId = first.body.thread_id as string;
      p = host.kernel.mind.affect().p;
      stoppedAt = host.clock.now();
    }
    const { FakeClock } = await import("@synth/testing");
    await using host = await mindHost(fake, {
      dataDir,
      clock: new FakeClock({ start: stoppedAt + 20 * 60_000 }),
    });
    const b = host.kernel.mind.profile.affect.baseline.p;
    const after = host.kernel.mind.affect().p;
    assert.ok(Math.abs((after - b) - (p - b) / 2) < 1e-9, "decayed by the 20-minute downtime");
    fake.reset();
    await chat(host, "Are you still there?", threadId);
    const messages =
      (replyRequests(fake).at(-1)!.body as { messages: Array<{ role: string; content: string }> })
        .messages.slice(1);
    assert.deepEqual(messages.map((message) => message.role), ["user", "assistant", "user"]);
    assert.equal(messages[0]!.content, "This is awful, I hate it");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("/reset keeps affect and the narrative but drops earlier messages; /forget thread removes the derived rows", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const first = await chat(host, "Remember the blue door");
  const threadId = first.body.thread_id as string;
  await host.kernel.mind.scheduler.idle();
  const pad = () => {
    const { p, a, d } = host.kernel.mind.affect();
    return { p, a, d };
  };
  const narrative = async () => await (await host.request("/api/narrative")).json();
  const [affectBefore, narrativeBefore] = [pad(), await narrative()];
  const reset = await chat(host, "/reset", threadId);
  assert.equal(reset.body.success, true);
  assert.deepEqual(pad(), affectBefore, "the reset leaves p, a and d as they were");
  assert.deepEqual(await narrative(), narrativeBefore, "and the narrative");
  const affect = host.kernel.mind.affect();
  await chat(host, "What colour was the door?", threadId);
  const messages =
    (replyRequests(fake).at(-1)!.body as { messages: Array<{ role: string }> }).messages;
  assert.deepEqual(messages.map((message) => message.role), ["system", "user"]);
  assert.equal(host.kernel.mind.affect().p, affect.p);
  await host.kernel.mind.scheduler.idle();
  const forget = await chat(host, "/forget thread", threadId);
  assert.equal(forget.body.success, true);
  const db = host.kernel.store.db;
  assert.deepEqual(await db.selectFrom("mind_turns").selectAll().execute(), []);
  assert.deepEqual(await db.selectFrom("mind_influence").selectAll().execute(), []);
  assert.deepEqual(await db.selectFrom("memory_messages").selectAll().execute(), []);
  assert.equal(await host.kernel.mind.conversations!.getThread(threadId), null);
  const ledger = await db.selectFrom("mind_ledger").select("turn_id").execute();
  assert.ok(ledger.length >= 4, "ledger rows remain (replies, forecasts, extractions)");
  assert.ok(ledger.every((row) => row.turn_id === null));
});

Deno.test("unknown commands suggest near names; /export has no confidence tag", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ reply: { text: ["The answer is 4.", " <confidence>0.9</confidence>"] } }],
  });
  await using host = await mindHost(fake);
  const reply = await chat(host, "What is 2+2?");
  assert.equal(reply.body.response, "The answer is 4. ");
  const unknown = await chat(host, "/stat");
  assert.equal(unknown.body.success, false);
  assert.match(unknown.body.response as string, /Unknown command \/stat\. Did you mean \/state/);
  const exported = await chat(host, "/export");
  assert.equal(exported.body.success, true);
  const text = JSON.stringify(exported.body.data);
  assert.ok(text.includes("The answer is 4."));
  assert.ok(!text.includes("<confidence>"));
  // Outside a conversation, a command that needs one says so in words for people.
  for (const command of ["/reset", "/forget thread"]) {
    const outside = await chat(host, command);
    assert.equal(outside.body.success, false, command);
    assert.match(
      outside.body.response as string,
      /^\/\w+ works inside a conversation: open one, or send a message first$/,
    );
    assert.deepEqual(outside.body.data, { field: "thread_id" });
  }
  // An argument /export does not know is refused with the usage, not ignored.
  for (const bad of ["/export bogus", "/export mind extra"]) {
    const refused = await chat(host, bad);
    assert.equal(refused.body.success, false, bad);
    assert.equal(refused.body.response, "Usage: /export [mind]");
  }
});

Deno.test("/export mind speaks the API's conventions throughout: snake_case keys, RFC 3339 times", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const first = await chat(host, "Help me plan the release of the garden app");
  await chat(host, "What comes after the tests?", first.body.thread_id as string);
  await host.kernel.mind.scheduler.idle();
  const exported = await chat(host, "/export mind");
  assert.equal(exported.body.success, true);
  const camel: string[] = [];
  const epochs: string[] = [];
  const walk = (value: unknown, path: string) => {
    if (Array.isArray(value)) {
      return value.forEach((item, index) => walk(item, `${path}[${index}]`));
    }
    if (value === null || typeof value !== "object") return;
    for (const [key, item] of Object.entries(value)) {
      // An id keying a map (`thr_01J…`) is no name to rewrite.
      if (/^[a-z][a-z0-9]*[A-Z][a-zA-Z0-9]*$/.test(key)) camel.push(`${path}.${key}`);
      if ((key === "at" || key.endsWith("_at")) && item !== null) {
        if (typeof item !== "string" || !RFC3339.test(item)) epochs.push(`${path}.${key}=${item}`);
      }
      walk(item, `${path}.${key}`);
    }
  };
  walk(exported.body.data, "export");
  assert.deepEqual(camel.slice(0, 5), [], "no camelCase key");
  assert.deepEqual(epochs.slice(0, 5), [], "every time in RFC 3339");
  // The modules' records are there, with the times that were epoch numbers in their tables.
  const data = exported.body.data as Record<string, Record<string, unknown[]>>;
  assert.ok(data.psyche_purpose!.sessions!.length > 0);
  assert.deepEqual(
    data.psyche_purpose!.narrative_versions!.map((version) =>
      (version as { restored_from: unknown }).restored_from
    ),
    [null],
    "a version says which one it restored (none here)",
  );
  assert.ok((data.mind as unknown as { ledger: unknown[] }).ledger.length > 0);
});

Deno.test("a failing persist hook loses only its rows: the turn completes with plugin.error", async () => {
  const broken = definePlugin({
    manifest: { id: "psyche_broken_store", version: "1.0.0", isolation: "in_process" },
    setup(ctx) {
      ctx.hooks.on(MIND_HOOKS.persist, async ({ db }) => {
        await db.insertInto("kv").values({
          namespace: "psyche_broken_store",
          key: "half",
          value: "1",
          version: 1,
          updated_at: 0,
        }).execute();
        throw new Error("disk full");
      });
    },
  });
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake, { plugins: [broken] });
  const reply = await chat(host, "Hello");
  assert.equal(reply.status, 200);
  const turn = await host.kernel.mind.turn(reply.body.turn_id as string);
  assert.equal(turn!.status, "completed");
  const { record } = (await host.kernel.mind.influence(turn!.id))!;
  assert.deepEqual(record.degraded, ["psyche_broken_store"]);
  const db = host.kernel.store.db;
  const half = await db.selectFrom("kv").selectAll().where("namespace", "=", "psyche_broken_store")
    .execute();
  assert.deepEqual(half, [], "its rows were rolled back to the savepoint");
  const errors = await db.selectFrom("mind_events").select("data").where(
    "type",
    "=",
    "plugin.error",
  ).execute();
  assert.match(errors[0]!.data, /disk full/);
  const calibration = await db.selectFrom("kv").selectAll().where(
    "namespace",
    "=",
    "psyche_calibration",
  )
    .where("key", "=", "state").execute();
  assert.equal(calibration.length, 1, "other plugins' rows are kept");
});

Deno.test("when stage 10 cannot commit, the reply the user saw is kept, marked interrupted", async () => {
  // A module that ends the turn's transaction under the kernel: everything after it fails.
  const breaker = definePlugin({
    manifest: { id: "psyche_breaker", version: "1.0.0", isolation: "in_process" },
    setup(ctx) {
      ctx.hooks.on(MIND_HOOKS.persist, async ({ db }) => {
        await sql`ROLLBACK`.execute(db);
      });
    },
  });
  await using fake = await startFakeLlm({ scenes: [{ reply: { text: "Here is the plan." } }] });
  await using host = await mindHost(fake, { plugins: [breaker] });
  const handle = await host.kernel.mind.submit({ userId: "local", role: "admin", text: "Plan it" });
  const outcome = await handle.done;
  assert.equal(outcome.status, "failed");
  assert.equal(outcome.error?.code, "INTERNAL");
  const turn = await host.kernel.mind.turn(handle.turnId);
  assert.equal(turn!.status, "failed");
  assert.equal(turn!.flags.interrupted, true);
  const window = await host.kernel.mind.conversations!.threadWindow(outcome.threadId, {
    maxTokens: 10_000,
  });
  assert.deepEqual(
    window.map((message) => [message.role, message.text]),
    [["user", "Plan it"], ["assistant", "Here is the plan."]],
  );
  assert.equal(turn!.replyMessageId, window[1]!.uid);
  const failed = handle.events.events.find((event) => event.type === "turn.failed");
  assert.deepEqual(failed && "partial" in failed ? failed.partial : null, true);
});

Deno.test("a failure after stage 10 committed leaves the turn completed and answered, its events once", async () => {
  // A module that marks the turn in stage 8, then answers the stored mark (stage 11) with a job
  // the scheduler cannot record (no module): stage 11 fails after the reply is stored.
  const faulty = definePlugin({
    manifest: { id: "psyche_faulty_jobs", version: "1.0.0", isolation: "in_process" },
    setup(ctx) {
      ctx.hooks.on(MIND_HOOKS.postassess, () => ({ events: [{ type: "faulty.mark", data: {} }] }));
      ctx.hooks.on(
        MIND_HOOKS.event,
        (event) =>
          event.type === "faulty.mark"
            ? {
              jobs: [{ module: null as never, kind: "broken", priority: 9, run: async () => {} }],
            }
            : undefined,
      );
    },
  });
  await using fake = await startFakeLlm({ scenes: [{ reply: { text: "Here is the plan." } }] });
  await using host = await mindHost(fake, { plugins: [faulty] });
  const announced: string[] = [];
  host.kernel.bus.subscribe(
    "mind.turn.completed",
    (event) => void announced.push(event.data.turnId),
  );
  host.kernel.bus.subscribe("mind.state", (event) => void announced.push(event.data.cause));
  const handle = await host.kernel.mind.submit({ userId: "local", role: "admin", text: "Plan it" });
  const outcome = await handle.done;
  assert.equal(outcome.status, "completed");
  assert.equal(outcome.reply, "Here is the plan.");
  // The bus learns that the turn ended (metrics, sockets and plugins follow it), once.
  assert.deepEqual(announced, [handle.turnId, "turn"]);
  const types = handle.events.events.map((event) => event.type);
  assert.equal(types.filter((type) => type === "chat.done").length, 1);
  assert.equal(types.filter((type) => type === "turn.influence").length, 1);
  assert.ok(!types.includes("turn.failed"));
  const turn = await host.kernel.mind.turn(handle.turnId);
  assert.equal(turn!.status, "completed");
  assert.equal(turn!.replyMessageId, outcome.messageId);
  const window = await host.kernel.mind.conversations!.threadWindow(outcome.threadId, {
    maxTokens: 10_000,
  });
  assert.deepEqual(window.map((message) => message.role), ["user", "assistant"]);
  const marks = await host.kernel.store.db.selectFrom("mind_events").select("id")
    .where("type", "=", "faulty.mark").where("turn_id", "=", handle.turnId).execute();
  assert.equal(marks.length, 1, "the turn's events are not written a second time");
  assert.ok(
    host.logs.some((line) => line.msg === "a completed turn failed after its reply was stored"),
  );
});

Deno.test("when a failed turn's own record cannot be written, its partial reply is stored once", async () => {
  // The model fails mid-stream; then a module breaks the database for the failed turn's record.
  const breaker = definePlugin({
    manifest: { id: "psyche_record_breaker", version: "1.0.0", isolation: "in_process" },
    setup(ctx) {
      ctx.bus.subscribe("mind.turn.event", (event) => {
        const data = event.data as { event: { type: string } };
        if (data.event.type !== "chat.token") return;
        // Writing the turn's row as failed is refused from now on.
        sql`CREATE TRIGGER IF NOT EXISTS refuse_failed_turns BEFORE UPDATE ON mind_turns
          WHEN NEW.status = 'failed' BEGIN SELECT RAISE(ABORT, 'disk full'); END`
          .execute(ctx.db.db).catch(() => {});
      });
    },
  });
  await using fake = await startFakeLlm({
    scenes: [{ reply: { text: "Here is the first part and" }, fault: { cutAfterChunks: 2 } }],
  });
  await using host = await mindHost(fake, { plugins: [breaker] });
  const handle = await host.kernel.mind.submit({ userId: "local", role: "admin", text: "Plan it" });
  const outcome = await handle.done;
  assert.equal(outcome.status, "failed");
  const window = await host.kernel.mind.conversations!.threadWindow(outcome.threadId, {
    maxTokens: 10_000,
  });
  assert.deepEqual(
    window.map((message) => [message.role, message.text]),
    [["user", "Plan it"], ["assistant", "Here is the first part and".slice(0, 16)]],
  );
  assert.ok(host.logs.some((line) => line.msg === "recording a failed turn failed"));
});

Deno.test("the newest event of a type follows commits, is a copy, and is gone with its thread", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const mind = host.kernel.mind;
  const newest = () => mind.lastEvent("calibration.updated");
  assert.equal(await newest(), null, "no turn yet");
  const first = await chat(host, "Hello there");
  await chat(host, "And one more thing", first.body.thread_id as string);
  const row = await host.kernel.store.db.selectFrom("mind_events").select("data")
    .where("type", "=", "calibration.updated").orderBy("at", "desc").orderBy("id", "desc")
    .limit(1).executeTakeFirstOrThrow();
  const seen = await newest();
  assert.deepEqual(seen, JSON.parse(row.data), "the table's newest, noted at commit");
  seen!.state = "changed by a reader";
  assert.deepEqual(await newest(), JSON.parse(row.data), "each reader gets its own copy");
  await mind.forgetThread(first.body.thread_id as string, { actor: "local", derived: true });
  assert.equal(await newest(), null, "forgetting the thread deleted its events");
});

Deno.test("a turn's background job waits for a turn that started before the job did", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const mind = host.kernel.mind;
  const order: string[] = [];
  host.kernel.bus.subscribe("mind.turn.completed", (event) => {
    order.push(`turn ${event.data.turnId}`);
  });
  host.kernel.bus.subscribe("mind.job", (event) => {
    if (event.data.status === "running") order.push(`job ${event.data.id}`);
  });
  const first = await mind.submit({ userId: "local", role: "admin", text: "Hello there" });
  const second = await mind.submit({ userId: "local", role: "admin", text: "Another thing" });
  await Promise.all([first.done, second.done]);
  await mind.scheduler.idle();
  const jobs = order.filter((entry) => entry.startsWith("job"));
  assert.ok(jobs.length >= 2, order.join("; "));
  assert.deepEqual(
    order.slice(0, 2),
    [`turn ${first.turnId}`, `turn ${second.turnId}`],
    `no job ran between the turns: ${order.join("; ")}`,
  );
});

Deno.test("a turn cancelled while queued leaves the queue and never runs", async () => {
  await using fake = await startFakeLlm({
    scenes: [{ reply: { text: "slow" }, timing: { firstTokenDelayMs: 30 } }],
  });
  await using host = await mindHost(fake);
  const mind = host.kernel.mind;
  const first = await mind.submit({ userId: "ada", role: "operator", text: "first" });
  const second = await mind.submit({ userId: "ada", role: "operator", text: "second" });
  second.cancel();
  const outcome = await second.done;
  assert.equal(outcome.status, "cancelled");
  assert.equal((await first.done).status, "completed");
  const stored = await mind.turn(second.turnId);
  assert.equal(stored!.status, "cancelled");
  assert.equal(stored!.userMessageId, null, "its message was never stored");
  // Its flags are all off, as the Turn schema has them (the column held `{}`).
  const shown = await (await host.request(`/api/turns/${second.turnId}`)).json();
  assert.deepEqual(shown.flags, { uncertain: false, clarifying: false });
});

Deno.test("a turn cancelled before its reply began ends cancelled, keeping the user's message and no reply", async () => {
  const client: { cancel?: (turnId: string) => void } = {};
  // The client cancels while stage 3 runs, before the model is asked.
  const canceller = definePlugin({
    manifest: { id: "psyche_canceller", version: "1.0.0", isolation: "in_process" },
    setup(ctx) {
      ctx.hooks.on(MIND_HOOKS.resolve, (view) => {
        client.cancel!(view.turnId);
        return {};
      });
    },
  });
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake, { plugins: [canceller] });
  const mind = host.kernel.mind;
  client.cancel = (turnId) => mind.live(turnId)!.cancel();
  const handle = await mind.submit({ userId: "local", role: "admin", text: "Never mind" });
  const outcome = await handle.done;
  assert.equal(outcome.status, "cancelled");
  assert.equal(outcome.reply, null);
  const stored = await mind.turn(handle.turnId);
  assert.equal(stored!.status, "cancelled");
  assert.equal(stored!.replyMessageId, null);
  // The stream ends with the influence record of what the turn did before it was cancelled.
  assert.deepEqual(handle.events.events.slice(-2).map((event) => event.type), [
    "turn.cancelled",
    "turn.influence",
  ]);
  const influence = await mind.influence(handle.turnId);
  assert.equal(influence?.userId, "local");
  assert.equal(influence?.record.turnId, handle.turnId);
  assert.ok(influence?.record.sections.some((section) => section.id === "mind/persona"));
  assert.deepEqual(influence?.record.memories, []);
  const window = await mind.conversations!.threadWindow(outcome.threadId, { maxTokens: 10_000 });
  assert.deepEqual(window.map((message) => [message.role, message.text]), [["user", "Never mind"]]);
  const asked = fake.requests().filter((request) => /chat|messages/.test(request.path));
  assert.deepEqual(asked, [], "the model was never asked");

  // Over a blocking POST /api/chat the same cancel is a 409 naming the turn (not a 499, which
  // says the client went away).
  const answered = await chat(host, "Never mind, over HTTP");
  assert.equal(answered.status, 409, JSON.stringify(answered.body));
  const error = answered.body.error as { code: string; details: { turn_id: string } };
  assert.equal(error.code, "MIND_TURN_CANCELLED");
  assert.equal((await mind.turn(error.details.turn_id))!.status, "cancelled");
});

Deno.test("a failed turn whose end is stored stays as stored when saving the affect then fails", async () => {
  await using fake = await startFakeLlm({ scenes: [{ fault: { status: 401 } }] });
  await using host = await mindHost(fake);
  const db = host.kernel.store.db;
  // The affect snapshot cannot be saved: the turn's end is stored first, then that fails.
  await sql`CREATE TRIGGER no_history BEFORE INSERT ON mind_state_history
    BEGIN SELECT RAISE(ABORT, 'the disk is full'); END`.execute(db);
  const handle = await host.kernel.mind.submit({ userId: "local", role: "admin", text: "Hello" });
  const outcome = await handle.done;
  assert.equal(outcome.status, "failed");
  assert.equal(outcome.error?.code, "LLM_UNAVAILABLE", "the client is told what is stored");
  const turn = await host.kernel.mind.turn(handle.turnId);
  assert.equal(turn!.status, "failed");
  assert.equal(turn!.error!.code, "LLM_UNAVAILABLE", "the stored end is the model's failure");
  assert.ok(
    host.logs.some((record) => record.msg === "saving the affect after a turn ended failed"),
  );
  const window = await host.kernel.mind.conversations!.threadWindow(outcome.threadId, {
    maxTokens: 10_000,
  });
  assert.deepEqual(window.map((message) => message.role), ["user"]);
});

/** `POST /api/chat` to a listening host, its response not awaited. */
const postChat = (url: string, message: string) =>
  fetch(`${url}/api/chat`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message }),
  });

/** A fake whose reply starts 50 ms after the request: time for shutdown to begin meanwhile. */
const answersAfterAWhile = (text: string) => ({
  scenes: [{ reply: { text }, timing: { firstTokenDelayMs: 50 } }],
});

/** Resolves once the fake has received a reply request (the turn is waiting for the model). */
const replyRequested = (fake: FakeLlm) =>
  fake.untilRequests(1, (request) => request.headers["x-synth-purpose"] === "reply");

Deno.test("shutdown gives a running turn its grace time: its reply finishes and is sent", async () => {
  await using fake = await startFakeLlm(answersAfterAWhile("Finished in time."));
  await using host = await mindHost(fake);
  const server = host.listen();
  const reply = postChat(server.url, "Please finish");
  await replyRequested(fake);
  // Shutdown begins while the model is still answering (the grace runs on the fake clock).
  const shutdown = server.shutdown();
  const response = await reply;
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  assert.equal(body.response, "Finished in time.");
  await shutdown;
});

Deno.test("shutdown cancels a turn still running when its grace time is over", async () => {
  await using fake = await startFakeLlm({ scenes: [{ fault: { hangMs: 60_000 } }] });
  await using host = await mindHost(fake, { config: { server: { shutdownGraceMs: 500 } } });
  const server = host.listen();
  const cancelled: string[] = [];
  host.kernel.bus.subscribe("mind.turn.event", (event) => {
    const { type } = event.data.event as { type: string };
    if (type === "turn.cancelled" || type === "turn.failed") cancelled.push(type);
  });
  const reply = postChat(server.url, "This will not finish");
  await replyRequested(fake);
  const shutdown = server.shutdown();
  // The grace time runs on the fake clock: until it is over, the turn is not touched.
  await host.clock.untilTimer((ms) => ms === 500);
  assert.deepEqual(cancelled, []);
  await host.clock.tick(500);
  const response = await reply;
  const body = await response.json();
  assert.equal(response.status, 503, JSON.stringify(body));
  assert.equal(body.error.code, "SHUTTING_DOWN");
  assert.deepEqual(cancelled, ["turn.cancelled"]);
  await shutdown;
});

Deno.test("when shutdown begins, waiting turns never run but their messages are kept after the running turn's reply; new ones are refused", async () => {
  await using fake = await startFakeLlm(answersAfterAWhile("First, finished."));
  await using host = await mindHost(fake);
  const server = host.listen();
  const waiting = Promise.withResolvers<string>();
  host.kernel.bus.subscribe("mind.turn.event", (event) => {
    const turnEvent = event.data.event as { type: string; turnId: string; queuePosition?: number };
    if (turnEvent.type === "turn.queued" && turnEvent.queuePosition === 1) {
      waiting.resolve(turnEvent.turnId);
    }
  });
  const threadId = await newThread(host);
  const inThread = (message: string) =>
    fetch(`${server.url}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message, thread_id: threadId }),
    });
  const first = inThread("First question");
  await replyRequested(fake);
  // The second waits behind the first when shutdown begins.
  const second = inThread("Second question");
  const secondTurn = await waiting.promise;
  const shutdown = server.shutdown();
  await assert.rejects(
    () => host.kernel.mind.submit({ userId: "local", role: "admin", text: "Third" }),
    /shutting down/,
  );
  const waited = await second;
  assert.equal(waited.status, 503);
  const refusal = (await waited.json()).error;
  assert.equal(refusal.code, "SHUTTING_DOWN");
  assert.match(refusal.message, /the message is kept in its thread/);
  const finished = await first;
  assert.equal(finished.status, 200);
  assert.equal((await finished.json()).response, "First, finished.");
  await shutdown;
  // Nothing accepted is lost: the stopped server's database holds the second message after the
  // first reply.
  using db = new DatabaseSync(`${host.dataDir}/${DATABASE_FILE}`, { readOnly: true });
  const messages = db.prepare(
    `SELECT mm.role, m.text, m.uid FROM memory_messages mm JOIN memories m ON m.id = mm.memory_id
     WHERE mm.thread_id = ? ORDER BY mm.seq`,
  ).all(threadId) as Array<{ role: string; text: string; uid: string }>;
  assert.deepEqual(messages.map(({ role, text }) => [role, text]), [
    ["user", "First question"],
    ["assistant", "First, finished."],
    ["user", "Second question"],
  ]);
  const turn = db.prepare("SELECT * FROM mind_turns WHERE id = ?").get(secondTurn) as Record<
    string,
    unknown
  >;
  assert.equal(turn.status, "failed");
  assert.equal(turn.error_code, "SHUTTING_DOWN");
  assert.equal(turn.user_message_id, messages[2]!.uid);
  assert.equal(turn.started_at, null);
  assert.notEqual(turn.finished_at, null);
});

Deno.test("shutdown gives a turn with no request open (answered 202) its grace time too", async () => {
  await using fake = await startFakeLlm(answersAfterAWhile("Done meanwhile."));
  await using host = await mindHost(fake);
  const server = host.listen();
  const completed: string[] = [];
  host.kernel.bus.subscribe("mind.turn.completed", (event) => {
    completed.push((event.data as { turnId: string }).turnId);
  });
  const thread = await (await fetch(`${server.url}/api/threads`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  })).json();
  const accepted = await fetch(`${server.url}/api/threads/${thread.id}/turns`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ content: "Work on this" }),
  });
  assert.equal(accepted.status, 202);
  const { turn_id: turnId } = await accepted.json();
  await replyRequested(fake);
  await server.shutdown();
  assert.deepEqual(completed, [turnId], "the turn completed before the server stopped");
});

Deno.test("between turns the write-ahead log is copied back, so it does not grow turn after turn", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const mind = host.kernel.mind;
  // The log's file keeps its largest size; it grows only when a turn's writes do not fit in what
  // was copied back. Without the checkpoint between turns it grows by each turn's writes (about
  // 400 KB here) until SQLite's automatic checkpoint, at 1,000 pages, inside some turn's commit.
  const walBytes = () => Deno.statSync(`${host.kernel.store.path}-wal`).size;
  const sizes: number[] = [];
  let threadId: string | undefined;
  for (let turn = 0; turn < 10; turn++) {
    const handle = await mind.submit({
      userId: "local",
      role: "admin",
      text: `Message number ${turn} about the orders service`,
      ...(threadId ? { threadId } : {}),
    });
    const outcome = await handle.done;
    assert.equal(outcome.status, "completed");
    threadId = outcome.threadId;
    await mind.scheduler.idle();
    sizes.push(walBytes());
  }
  assert.deepEqual(sizes, sizes.map(() => sizes[0]), `the log's size after each turn: ${sizes}`);
});

Deno.test("a blank, invisible, malformed or too long message is a 400 naming the field and saying which, and starts no turn", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const threadId = await newThread(host);
  for (
    const [message, text] of [
      ["   \n\t", /^The message is empty or only spaces$/],
      ["\u200b\u200b\ufeff \u2060", /^The message is empty or only spaces$/],
      ["\ud800 half an emoji", /not valid Unicode \(an unpaired surrogate, half an emoji\)/],
      ["x".repeat(32_001), /32000 characters/],
    ] as const
  ) {
    const response = await chat(host, message);
    assert.equal(response.status, 400);
    const { error } = response.body as { error: { code: string; message: string; field: string } };
    assert.deepEqual([error.code, error.field], ["VALIDATION_FAILED", "message"]);
    assert.match(error.message, text);
    // A thread's turns route names its own field, `content`.
    const turn = await host.request(`/api/threads/${threadId}/turns`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ content: message }),
    });
    assert.equal(turn.status, 400);
    const refused = (await turn.json()).error;
    assert.deepEqual([refused.code, refused.field], ["VALIDATION_FAILED", "content"]);
    assert.match(refused.message, text);
  }
  assert.equal(host.kernel.mind.turnCount, 0);
  assert.equal(replyRequests(fake).length, 0);

  // Characters are counted as a reader counts them, the same in every layer: 32,000 emoji pass.
  const emoji = "\u{1F600}".repeat(32_000);
  const accepted = await chat(host, emoji, threadId);
  assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
  await assert.rejects(
    host.kernel.mind.submit({ userId: "local", role: "admin", text: emoji + "!" }),
    /The message has 32001 characters, over the limit of 32000/,
  );
});
