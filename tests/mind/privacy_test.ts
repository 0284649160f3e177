/**
 * What one user's conversation shows another (spec/server.md §3.1, mind.md
 * §11): concerns and the raw text of reflections stay with the thread's
 * owner and admins; milestones every viewer reads carry no personal details.
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { mindHost, RFC3339 } from "./helpers.ts";

const UNSURE =
  "I think it might possibly work if you restart it, but maybe not. Perhaps try the staging copy first. <confidence>0.2</confidence>";
const BROKEN = '{"coherence": 2, "note": "Ada said her PIN is 4921."}';
/** A reflection that fails: prose, then a repair that is still no valid answer. */
const FAILED_REFLECTION = {
  reflection: [{ reply: { text: "Ada said her PIN is 4921." } }],
  reflection_repair: [{ reply: { text: BROKEN } }],
};

async function chatAs(
  host: Awaited<ReturnType<typeof mindHost>>,
  userId: string,
  message: string,
  threadId?: string,
) {
  const response = await host.as({ userId, role: "operator" }).request("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message, ...(threadId ? { thread_id: threadId } : {}) }),
  });
  assert.equal(response.status, 200);
  return await response.json() as Record<string, unknown>;
}

Deno.test("another user's concerns are neither listed, shown nor resolvable; the owner and an admin see them", async () => {
  await using fake = await startFakeLlm();
  fake.sceneFirst({ match: { purpose: "reply" }, reply: { text: UNSURE } });
  await using host = await mindHost(fake);
  await chatAs(host, "ada", "How do I restart the payment service safely during business hours?");
  const concern = await host.kernel.store.db.selectFrom("psyche_assurance_concerns").selectAll()
    .executeTakeFirstOrThrow();
  const ids = async (userId: string, role: "viewer" | "admin") => {
    const response = await host.as({ userId, role }).request("/api/concerns");
    return ((await response.json()).items as Array<{ id: string }>).map((item) => item.id);
  };
  assert.deepEqual(await ids("bob", "viewer"), []);
  assert.deepEqual(await ids("ada", "viewer"), [concern.id]);
  assert.deepEqual(await ids("root", "admin"), [concern.id]);
  const bob = host.as({ userId: "bob", role: "operator" });
  assert.equal((await bob.request(`/api/concerns/${concern.id}`)).status, 404);
  const resolve = await bob.request(`/api/concerns/${concern.id}/resolve`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ resolution: "refuted" }),
  });
  assert.equal(resolve.status, 404);
  assert.equal((await resolve.json()).error.code, "CONCERN_NOT_FOUND");
  const still = await host.kernel.store.db.selectFrom("psyche_assurance_concerns").select("status")
    .where("id", "=", concern.id).executeTakeFirstOrThrow();
  assert.equal(still.status, "open");
});

Deno.test("a failed reflection's raw reply is shown to its thread's owner and admins only", async () => {
  await using fake = await startFakeLlm();
  fake.script(FAILED_REFLECTION);
  await using host = await mindHost(fake);
  const first = await chatAs(host, "ada", "Plan the release");
  await chatAs(host, "ada", "/reflect", first.thread_id as string);
  const raw = async (userId: string, role: "viewer" | "admin") => {
    const response = await host.as({ userId, role }).request("/api/reflections");
    const [item] = (await response.json()).items as Array<{ id: string; raw: string | null }>;
    const one = await host.as({ userId, role }).request(`/api/reflections/${item!.id}`);
    const single = (await one.json()).raw as string | null;
    assert.equal(single, item!.raw);
    return item!.raw;
  };
  assert.equal(await raw("bob", "viewer"), null);
  assert.equal(await raw("ada", "viewer"), BROKEN);
  assert.equal(await raw("root", "admin"), BROKEN);
});

Deno.test("a failed reflection on no one thread shows its raw reply to administrators only", async () => {
  await using fake = await startFakeLlm();
  fake.script(FAILED_REFLECTION);
  await using host = await mindHost(fake);
  await chatAs(host, "ada", "Plan the release");
  const reflected = await host.as({ userId: "root", role: "admin" }).request("/api/reflect", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  assert.equal(reflected.status, 200);
  await reflected.body?.cancel();
  const raw = async (userId: string, role: "viewer" | "admin") => {
    const response = await host.as({ userId, role }).request("/api/reflections");
    const [item] = (await response.json()).items as Array<
      { thread_id: string | null; raw: string }
    >;
    assert.equal(item!.thread_id, null);
    return item!.raw;
  };
  assert.equal(await raw("ada", "viewer"), null, "not even a user whose turns it read");
  assert.equal(await raw("root", "admin"), BROKEN);
});

Deno.test("a session summary's milestone title has no e-mail, number or user name", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    session_summary: [{
      reply: {
        text: "I helped ada reach ada@example.com about invoice 12345678. Then we planned.",
      },
    }],
  });
  await using host = await mindHost(fake);
  const first = await chatAs(host, "ada", "Plan the release");
  for (const text of ["Add a rollback step", "Thanks, that works"]) {
    await chatAs(host, "ada", text, first.thread_id as string);
  }
  await host.kernel.mind.scheduler.idle();
  await host.clock.tick(21 * 60_000);
  await host.kernel.mind.tick();
  await host.kernel.mind.scheduler.idle();
  const milestone = await host.kernel.store.db.selectFrom("psyche_purpose_milestones")
    .select("title").where("kind", "=", "session_summary").executeTakeFirstOrThrow();
  assert.equal(milestone.title, "I helped [name] reach [email] about invoice [number].");
  const session = await host.kernel.store.db.selectFrom("psyche_purpose_sessions").select("summary")
    .executeTakeFirstOrThrow();
  assert.match(session.summary!, /ada@example\.com/, "the owner's own summary is kept whole");
});

Deno.test("a project's milestone names no project: every viewer reads milestones, and the narrative takes them in", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  await chatAs(host, "ada", "Hello");
  for (
    const [kind, title] of [["milestone", "Draft the layoff list"], ["completed", "Q3 layoffs"]]
  ) {
    host.kernel.bus.publish("mind.impulses", {
      impulses: [],
      events: [{
        type: "outcome.project",
        data: {
          projectId: "prj_01J0000000000000000000000A",
          kind,
          title,
          at: "2026-11-28T00:00:00Z",
        },
      }],
      threadId: null,
    });
  }
  await host.kernel.mind.scheduler.idle();
  const milestones = await host.kernel.store.db.selectFrom("psyche_purpose_milestones")
    .select(["kind", "title", "ref_id"]).where("kind", "in", [
      "project_completed",
      "project_milestone",
    ]).orderBy("kind")
    .execute();
  assert.deepEqual(milestones.map((row) => ({ ...row })), [
    {
      kind: "project_completed",
      title: "Completed a project",
      ref_id: "prj_01J0000000000000000000000A",
    },
    {
      kind: "project_milestone",
      title: "A project reached a milestone",
      ref_id: "prj_01J0000000000000000000000A",
    },
  ]);
});

Deno.test("/export holds the caller's derived records (none of another user's); /forget thread leaves no row of the thread anywhere", async () => {
  await using fake = await startFakeLlm();
  fake.sceneFirst({ match: { purpose: "reply" }, reply: { text: UNSURE } });
  fake.script({
    ...FAILED_REFLECTION,
    extract: [{
      reply: {
        text: JSON.stringify({
          facts: [{ text: "The user runs the payment service.", importance: 0.7, about: "user" }],
        }),
      },
    }],
  });
  await using host = await mindHost(fake);
  const first = await chatAs(host, "ada", "How do I restart the payment service safely?");
  const threadId = first.thread_id as string;
  for (const text of ["Add a rollback step", "Thanks, that works"]) {
    await chatAs(host, "ada", text, threadId);
  }
  await chatAs(host, "ada", "/reflect", threadId);
  await host.kernel.mind.scheduler.idle();
  await host.clock.tick(21 * 60_000);
  await host.kernel.mind.tick();
  await host.kernel.mind.scheduler.idle();
  await chatAs(host, "bob", "Hello from bob");
  await host.kernel.mind.scheduler.idle();

  const exported = (await chatAs(host, "ada", "/export", threadId)).data as Record<
    string,
    Record<string, unknown[]>
  >;
  assert.ok(exported.psyche_assurance!.concerns!.length >= 1);
  assert.equal(exported.psyche_assurance!.assessments!.length, 3);
  assert.ok(exported.psyche_dreaming!.forecasts!.length >= 1);
  assert.equal(exported.psyche_purpose!.sessions!.length, 1);
  assert.equal(exported.psyche_reflection!.reflections!.length, 1);
  assert.ok(threadId in (exported.psyche_calibration!.thread_windows as unknown as object));
  assert.equal((exported.influence as unknown as unknown[]).length, 3);
  assert.deepEqual(
    exported.memory!.memories!.map((memory) => (memory as { text: string }).text),
    ["The user runs the payment service."],
  );
  assert.ok(!("narrative_versions" in exported.psyche_purpose!), "the mind scope is for admins");
  // Threads, messages, turns and influence records in the API's shapes: snake_case, RFC 3339.
  const time = RFC3339;
  const [thread] = exported.threads as unknown as Array<Record<string, unknown>>;
  assert.equal(thread!.id, threadId);
  assert.match(thread!.created_at as string, time);
  assert.equal(thread!.message_count, (thread!.messages as unknown[]).length);
  const [message] = thread!.messages as Array<Record<string, unknown>>;
  assert.deepEqual(Object.keys(message!).sort(), [
    "author_id",
    "content",
    "created_at",
    "id",
    "role",
    "seq",
    "thread_id",
    "turn_id",
  ]);
  const [turn] = exported.turns as unknown as Array<Record<string, unknown>>;
  assert.match(turn!.received_at as string, time);
  assert.equal(typeof (turn!.flags as { uncertain: boolean }).uncertain, "boolean");
  assert.equal(typeof (turn!.state_after as { p: number }).p, "number");
  const [record] = exported.influence as unknown as Array<Record<string, unknown>>;
  assert.equal(typeof record!.turn_id, "string");
  assert.ok("state_before" in record! && !("stateBefore" in record!));
  assert.ok(!JSON.stringify(exported).includes("Hello from bob"));
  const bobs = (await chatAs(host, "bob", "/export")).data as Record<string, unknown>;
  assert.ok(!JSON.stringify(bobs).includes(threadId));

  const forgot = await chatAs(host, "ada", "/forget thread", threadId);
  // The answer names the thread it forgot (the dashboard leaves that thread on it).
  assert.equal(forgot.command, "forget");
  assert.equal((forgot.data as { thread_id: string }).thread_id, threadId);
  const db = host.kernel.store.db;
  const byThread = [
    "psyche_assurance_concerns",
    "psyche_assurance_turns",
    "psyche_dreaming_sets",
    "psyche_purpose_sessions",
    "psyche_reflection_runs",
    "mind_turns",
    "mind_influence",
    "mind_events",
    "mind_jobs",
    "memories",
  ] as const;
  for (const table of byThread) {
    const rows = await db.selectFrom(table).select("thread_id").where("thread_id", "=", threadId)
      .execute();
    assert.deepEqual(rows, [], table);
  }
  const turnIds = (exported.influence as unknown as Array<{ turn_id: string }>).map((row) =>
    row.turn_id
  );
  assert.deepEqual(
    await db.selectFrom("psyche_purpose_drift").select("turn_id").where("turn_id", "in", turnIds)
      .execute(),
    [],
  );
  assert.deepEqual(
    await db.selectFrom("psyche_assurance_samples").select("turn_id")
      .where("turn_id", "in", turnIds).execute(),
    [],
  );
  const sessionMilestones = await db.selectFrom("psyche_purpose_milestones").select("kind")
    .where("kind", "in", ["session_summary", "growth"]).execute();
  assert.deepEqual(sessionMilestones, []);
  const kv = await db.selectFrom("kv").select("key").where("key", "like", `%${threadId}%`)
    .execute();
  assert.deepEqual(kv, []);
  // bob's conversation is untouched.
  assert.equal(
    (await db.selectFrom("mind_turns").select("user_id").execute()).every((row) =>
      row.user_id === "bob"
    ),
    true,
  );
});

Deno.test("/export mind (admin) adds narrative versions, milestones and every reflection", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const refused = await host.as({ userId: "ada", role: "operator" }).request("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: "/export mind" }),
  });
  assert.equal(refused.status, 403);
  assert.deepEqual(
    { ...(await refused.json()).error, request_id: "-" },
    { code: "FORBIDDEN", message: "/export mind needs the admin role", request_id: "-" },
  );
  const response = await host.request("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: "/export mind" }),
  });
  const data = (await response.json()).data as Record<string, Record<string, unknown[]>>;
  assert.equal(data.psyche_purpose!.narrative_versions!.length, 1);
  assert.ok(Array.isArray(data.psyche_purpose!.milestones));
  assert.ok(Array.isArray(data.psyche_reflection!.reflections));
  assert.ok(Array.isArray((data.mind as unknown as { ledger: unknown[] }).ledger));
});

Deno.test("an administrator reads another user's thread but cannot talk in it (mind.md §3.2: the caller owns the thread)", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const first = await chatAs(host, "ada", "My locker code is on the note.");
  const threadId = first.thread_id as string;
  const admin = host.as({ userId: "root", role: "admin" });
  const read = await admin.request(`/api/threads/${threadId}/messages`);
  assert.equal(read.status, 200, "admins read every thread");
  await read.body?.cancel();
  for (
    const [path, body] of [
      ["/api/chat", { message: "Words in Ada's mouth", thread_id: threadId }],
      [`/api/threads/${threadId}/turns`, { content: "Words in Ada's mouth" }],
    ] as const
  ) {
    const refused = await admin.request(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(refused.status, 404, path);
    assert.equal((await refused.json()).error.code, "MIND_THREAD_NOT_FOUND");
  }
  const messages = await (await host.as({ userId: "ada", role: "operator" })
    .request(`/api/threads/${threadId}/messages`)).json();
  assert.equal(messages.items.length, 2, "Ada's message and its reply, nothing more");
});
