/**
 * Forgetting through the HTTP API (spec/memory.md §8.2, §10 item 18;
 * server.md §4.2): deleting a user forgets their memories, threads and
 * key-value rows everywhere — rows, full-text index, vector index, recall,
 * export — and leaves other users' data alone; a forget that fails part-way
 * leaves the user (deactivated) so deleting again finishes the job;
 * `DELETE /api/threads/{id}` with and without `?forget=true`; `PATCH
 * /api/threads/{id}`; both are the owner's only.
 */
import assert from "node:assert/strict";
import { sql } from "kysely";
import { z } from "zod";
import { definePlugin, MIND_HOOKS } from "@synth/kernel";
import type { TestHost } from "@synth/testing";
import type { MemoryApi } from "../../plugins/memory/mod.ts";
import { kindBits, MEMORY_KINDS } from "../../plugins/memory/kinds.ts";
import type { VectorManager } from "../../plugins/memory/vectors.ts";
import { type FakeLlm, startFakeLlm } from "../fakes/llm/mod.ts";
import { call, setupAdmin, userWithRole } from "../security/helpers.ts";
import { mindHost } from "./helpers.ts";
import { recordPrepared } from "./plans.ts";

const ADA_FACT = "The user's daughter is called Mia.";
const BOB_FACT = "The user keeps bees on the roof.";
const AUTH = { auth: { enabled: true, password: { scryptLogN: 14 } } };

/** An extraction answer naming one fact. */
const extracted = (text: string) => ({
  reply: { text: JSON.stringify({ facts: [{ text, importance: 0.7, about: "user" }] }) },
});

/** The index loads in the background at start; wait until vector search is on. */
async function waitForIndex(host: TestHost) {
  for (let i = 0; i < 100; i++) {
    const body = await (await host.request("/health")).json();
    if (body.checks.vector_index?.status === "ok") return;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  throw new Error("the vector index did not load");
}

/** Ids of the memories whose full-text index entries match `words` (the index itself, not the content table). */
async function ftsIds(host: TestHost, words: string): Promise<number[]> {
  const expression = host.kernel.store.text.matchExpression(words)!;
  const { rows } = await sql<{ id: number }>`
    SELECT rowid AS id FROM memory_fts WHERE memory_fts MATCH ${expression}`
    .execute(host.kernel.store.db);
  return rows.map((row) => row.id);
}

/** Ids the in-memory vector index returns for `words` among `owner`'s items. */
async function vectorIds(host: TestHost, owner: string, words: string): Promise<number[]> {
  const memory = host.api<MemoryApi>("memory");
  const vectors = (memory as unknown as { vectors: VectorManager }).vectors;
  const [query] = await memory.embedder.embed([words]);
  const hits = await vectors.search(query!, 50, {
    owners: [{ owner, kinds: kindBits(MEMORY_KINDS) }],
    includeFlagged: true,
  });
  assert.ok(hits, "vector search is on");
  return hits.map((hit) => hit.id);
}

/** The records of `owner`'s export (an admin's `?owner=`), without header and end. */
async function exported(host: TestHost, owner: string, adminToken: string) {
  const response = await host.request(`/api/memories/export?owner=${owner}`, {
    headers: { authorization: `Bearer ${adminToken}` },
  });
  assert.equal(response.status, 200);
  return (await response.text()).trim().split("\n")
    .map((line) => JSON.parse(line) as { type: string; text?: string })
    .filter((line) => line.type !== "header" && line.type !== "end");
}

/** What `owner` has anywhere memory keeps things. */
async function traces(host: TestHost, owner: string, words: string, adminToken: string) {
  const db = host.kernel.store.db;
  const memory = host.api<MemoryApi>("memory");
  const rows = await db.selectFrom("memories").select(["id", "uid"])
    .where("owner_user_id", "=", owner).execute();
  const recall = await memory.recall({ text: words, ownerUserId: owner, tokenBudget: Infinity });
  return {
    memoryIds: rows.map((row) => row.id),
    vectors: await vectorIds(host, owner, words),
    recall: recall.items.map((item) => item.uid),
    exported: (await exported(host, owner, adminToken)).length,
    threads: (await db.selectFrom("threads").select("id").where("created_by", "=", owner)
      .execute()).map((row) => row.id),
    turns: (await db.selectFrom("mind_turns").select("id").where("user_id", "=", owner).execute())
      .length,
    kv: (await db.selectFrom("kv").select("key").where("namespace", "=", `user:${owner}`)
      .execute()).length,
  };
}

/** A signed-in user's chat turn; returns the thread id. */
async function chatAs(host: TestHost, token: string, message: string, threadId?: string) {
  const answer = await call(host, "POST", "/api/chat", {
    token,
    body: { message, ...(threadId ? { thread_id: threadId } : {}) },
  });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  await host.kernel.mind.scheduler.idle();
  return answer.body.thread_id as string;
}

/** A host with sign-in on, an admin and two operators who each chatted, added a fact and a kv row. */
async function twoUsers(fake: FakeLlm, plugins: Parameters<typeof mindHost>[1] = {}) {
  // One extraction per user message, in the order they are sent below.
  fake.script({
    extract: [
      extracted(ADA_FACT),
      extracted("Mia starts school in September."),
      extracted(BOB_FACT),
    ],
  });
  const host = await mindHost(fake, { ...plugins, config: { ...AUTH, ...plugins.config } });
  await waitForIndex(host);
  const admin = (await setupAdmin(host)).access_token as string;
  const users = {
    ada: await userWithRole(host, admin, "ada", "operator"),
    bob: await userWithRole(host, admin, "bob", "operator"),
  };
  const token = (name: "ada" | "bob") => users[name].access_token as string;
  const id = (name: "ada" | "bob") => (users[name].user as { id: string }).id;
  const adaThread = await chatAs(
    host,
    token("ada"),
    "My daughter is called Mia and she loves trains.",
  );
  await chatAs(host, token("ada"), "Mia starts school in September.", adaThread);
  const bobThread = await chatAs(host, token("bob"), "I keep bees on the roof of my house.");
  const added = [["ada", "Mia's teacher is Mr Daughtry."], ["bob", "Honey harvest is in August."]];
  for (const [name, text] of added as Array<["ada" | "bob", string]>) {
    const answer = await call(host, "POST", "/api/memories", {
      token: token(name),
      body: { text },
    });
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
  }
  const memory = host.api<MemoryApi>("memory");
  await memory.kv.set(`user:${id("ada")}`, "preferred_name", "Ada");
  await memory.kv.set(`user:${id("bob")}`, "preferred_name", "Bob");
  await memory.flushEmbeddings();
  return { host, admin, token, id, adaThread, bobThread };
}

Deno.test("deleting a user forgets their memories, threads, turns and kv rows everywhere; another user's stay", async () => {
  await using fake = await startFakeLlm();
  const { host, admin, token, id, adaThread, bobThread } = await twoUsers(fake);
  await using _ = host;
  const ada = id("ada");
  const bob = id("bob");
  const before = await traces(host, ada, "daughter Mia", admin);
  assert.ok(before.memoryIds.length >= 4, "messages, the extracted fact and the added one");
  assert.ok(
    (await host.kernel.store.db.selectFrom("memories").select("text").where(
      "owner_user_id",
      "=",
      ada,
    )
      .execute()).some((row) => row.text === ADA_FACT),
    "the fact was extracted from ada's thread",
  );
  assert.ok(before.vectors.length > 0 && before.recall.length > 0 && before.exported > 0);
  assert.deepEqual(before.threads, [adaThread]);
  assert.ok(before.turns === 2 && before.kv === 1);
  const ftsBefore = await ftsIds(host, "daughter Mia");
  assert.ok(before.memoryIds.some((memoryId) => ftsBefore.includes(memoryId)));
  const bobBefore = await traces(host, bob, "bees roof honey", admin);
  const events: unknown[] = [];
  host.kernel.bus.subscribe("memory.update", (event) => void events.push(event.data));

  const deleted = await call(host, "DELETE", "/api/users/ada", { token: admin });
  assert.equal(deleted.status, 204, JSON.stringify(deleted.body));

  assert.deepEqual(await traces(host, ada, "daughter Mia", admin), {
    memoryIds: [],
    vectors: [],
    recall: [],
    exported: 0,
    threads: [],
    turns: 0,
    kv: 0,
  });
  const ftsAfter = await ftsIds(host, "daughter Mia");
  assert.deepEqual(before.memoryIds.filter((memoryId) => ftsAfter.includes(memoryId)), []);
  assert.equal(
    (await call(host, "GET", `/api/threads/${adaThread}`, { token: admin })).status,
    404,
  );
  assert.equal((await call(host, "GET", "/api/users/ada", { token: admin })).status, 404);
  assert.equal((await call(host, "GET", "/api/threads", { token: token("ada") })).status, 401);
  const db = host.kernel.store.db;
  for (const table of ["mind_influence", "mind_events", "psyche_assurance_turns"] as const) {
    const rows = await db.selectFrom(table).select("thread_id").where("thread_id", "=", adaThread)
      .execute();
    assert.deepEqual(rows, [], table);
  }
  const log = await db.selectFrom("forget_log").select(["actor", "selector"]).execute();
  const adminId = (await call(host, "GET", "/api/auth/me", { token: admin })).body.id;
  assert.ok(log.some((row) => row.actor === adminId && JSON.parse(row.selector).user === ada));
  const forgotten = events.filter((event) => (event as { op: string }).op === "forgotten");
  assert.ok(forgotten.length > 0);
  assert.ok(!JSON.stringify(events).includes("Mia"), "memory.update carries no content");

  // Bob: every row, index entry, thread and recall as before.
  assert.deepEqual(await traces(host, bob, "bees roof honey", admin), bobBefore);
  const bobsThread = await call(host, "GET", `/api/threads/${bobThread}/messages`, {
    token: token("bob"),
  });
  assert.equal(bobsThread.status, 200);
  assert.equal((bobsThread.body.items as unknown[]).length, 2);
  assert.ok(
    (await exported(host, bob, admin)).some((line) => line.text === BOB_FACT),
    "bob's extracted fact is still exported",
  );
});

Deno.test("deleting a user reads only their rows: no growing table from end to end", async () => {
  using recording = recordPrepared();
  await using fake = await startFakeLlm();
  const { host, admin } = await twoUsers(fake);
  await using _ = host;
  const deleted = await call(host, "DELETE", "/api/users/ada", { token: admin });
  assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
  recording.assertBounded(host.dataDir);
});

Deno.test("a user whose data could not all be forgotten stays, deactivated; deleting again finishes", async () => {
  await using fake = await startFakeLlm();
  // A module whose forget fails once, as a process that died part-way would leave things.
  let failures = 1;
  const flaky = definePlugin({
    manifest: { id: "flaky_forget", version: "1.0.0", isolation: "in_process" },
    setup(ctx) {
      ctx.hooks.on(MIND_HOOKS.forget, ({ allOfUser }) => {
        if (allOfUser && failures-- > 0) throw new Error("the disk went away");
        return { deleted: 0 };
      });
    },
  });
  const { host, admin, id, adaThread } = await twoUsers(fake, { plugins: [flaky] });
  await using _ = host;
  const ada = id("ada");

  const first = await call(host, "DELETE", "/api/users/ada", { token: admin });
  assert.equal(first.status, 500);
  assert.equal((first.body.error as { code: string }).code, "USER_DELETE_INCOMPLETE");
  const kept = await call(host, "GET", "/api/users/ada", { token: admin });
  assert.equal(kept.status, 200, "the account stays until its data is gone");
  assert.equal(kept.body.active, false, "and cannot be used meanwhile");
  const login = await call(host, "POST", "/api/auth/login", {
    body: { username: "ada", password: "correct horse battery" },
  });
  assert.equal(login.status, 401);

  const again = await call(host, "DELETE", "/api/users/ada", { token: admin });
  assert.equal(again.status, 204, JSON.stringify(again.body));
  const left = await traces(host, ada, "daughter Mia", admin);
  assert.deepEqual([left.memoryIds, left.threads, left.kv], [[], [], 0]);
  assert.equal(await host.kernel.mind.conversations!.getThread(adaThread), null);
  assert.equal((await call(host, "GET", "/api/users/ada", { token: admin })).status, 404);
});

/** JSON request as `userId` (sign-in off: the test host's callers). */
async function as(
  host: TestHost,
  userId: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await host.as({ userId, role: "operator" }).request(path, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

/** A thread of ada's with one turn, the fact extracted from it and an event recorded in it. */
async function adaThread(host: TestHost, message: string) {
  const answer = await as(host, "ada", "POST", "/api/chat", { message });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  await host.kernel.mind.scheduler.idle();
  const threadId = answer.body.thread_id as string;
  const memory = host.api<MemoryApi>("memory");
  const event = await memory.episodes.add({
    type: "test.noted",
    payload: {},
    ownerUserId: "ada",
    threadId,
  });
  await memory.flushEmbeddings();
  const db = host.kernel.store.db;
  const messages = await db.selectFrom("memories").select("id").where("thread_id", "=", threadId)
    .where("kind", "=", "message").execute();
  assert.equal(messages.length, 2, "the question and the reply");
  return { threadId, event, messageIds: messages.map((row) => row.id) };
}

Deno.test("DELETE /api/threads/{id} removes the thread, its messages and turns and keeps what was drawn from it; ?forget=true forgets that too; others get 404", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    extract: [extracted("The user's car is a green Volvo."), extracted(ADA_FACT)],
  });
  await using host = await mindHost(fake);
  await waitForIndex(host);
  const memory = host.api<MemoryApi>("memory");
  memory.episodes.register({
    type: "test.noted",
    schema: z.strictObject({}),
    summarize: () => "Something happened in this conversation.",
    importance: 0.5,
  });
  const db = host.kernel.store.db;
  const fact = async (text: string) =>
    await db.selectFrom("memories").select(["id", "thread_id"]).where("text", "=", text)
      .executeTakeFirst();
  const kept = await adaThread(host, "My car is a green Volvo, parked at the station.");
  const forgotten = await adaThread(host, "My daughter is called Mia and she loves trains.");
  assert.ok(await fact("The user's car is a green Volvo."));
  assert.ok(await fact(ADA_FACT));

  // Another user: the 404 of an unknown thread, and nothing changes.
  for (const query of ["", "?forget=true"]) {
    const refused = await as(host, "bob", "DELETE", `/api/threads/${kept.threadId}${query}`);
    assert.equal(refused.status, 404);
    assert.equal((refused.body.error as { code: string }).code, "MIND_THREAD_NOT_FOUND");
  }
  assert.equal((await as(host, "ada", "GET", `/api/threads/${kept.threadId}`)).status, 200);

  const plain = await as(host, "ada", "DELETE", `/api/threads/${kept.threadId}`);
  assert.equal(plain.status, 204, JSON.stringify(plain.body));
  assert.equal((await as(host, "ada", "GET", `/api/threads/${kept.threadId}`)).status, 404);
  const turns = (threadId: string) =>
    db.selectFrom("mind_turns").select("id").where("thread_id", "=", threadId).execute();
  assert.deepEqual(await turns(kept.threadId), []);
  assert.deepEqual(
    await db.selectFrom("memories").select("id").where("id", "in", kept.messageIds).execute(),
    [],
  );
  const words = "green Volvo station";
  const fts = await ftsIds(host, words);
  assert.deepEqual(kept.messageIds.filter((id) => fts.includes(id)), []);
  const vectors = await vectorIds(host, "ada", words);
  assert.deepEqual(kept.messageIds.filter((id) => vectors.includes(id)), []);
  const volvo = await fact("The user's car is a green Volvo.");
  assert.ok(volvo, "the fact drawn from the thread outlives it");
  assert.ok(vectors.includes(volvo.id), "and is still found");
  const event = await db.selectFrom("memories").select("thread_id").where(
    "uid",
    "=",
    kept.event.uid,
  )
    .executeTakeFirst();
  assert.ok(event, "the event outlives the thread");
  assert.equal(event.thread_id, null, "detached from it");

  const full = await as(host, "ada", "DELETE", `/api/threads/${forgotten.threadId}?forget=true`);
  assert.equal(full.status, 204, JSON.stringify(full.body));
  assert.equal(await fact(ADA_FACT), undefined, "the fact extracted from it is forgotten");
  assert.equal(
    await db.selectFrom("memories").select("id").where("uid", "=", forgotten.event.uid)
      .executeTakeFirst(),
    undefined,
    "and so is the event recorded in it",
  );
  assert.deepEqual(await turns(forgotten.threadId), []);
  const drawn = await vectorIds(host, "ada", "daughter Mia trains");
  assert.deepEqual(forgotten.messageIds.filter((id) => drawn.includes(id)), []);
  assert.deepEqual(
    (await memory.recall({ text: "daughter Mia trains", ownerUserId: "ada" })).items,
    [],
  );
  assert.equal((await as(host, "ada", "DELETE", `/api/threads/${forgotten.threadId}`)).status, 404);
});

Deno.test("PATCH /api/threads/{id} renames, clears the title, archives and restores; others get 404; an empty change is 400", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const created = await as(host, "ada", "POST", "/api/threads", { title: "Trip" });
  assert.equal(created.status, 201);
  const id = created.body.id as string;
  const path = `/api/threads/${id}`;
  const listed = async (query = "") =>
    ((await as(host, "ada", "GET", `/api/threads${query}`)).body.items as Array<{ id: string }>)
      .map((thread) => thread.id);

  const renamed = await as(host, "ada", "PATCH", path, { title: "Trip to Lisbon" });
  assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
  assert.equal(renamed.body.title, "Trip to Lisbon");
  assert.equal((await as(host, "ada", "GET", path)).body.title, "Trip to Lisbon");

  const archived = await as(host, "ada", "PATCH", path, { archived: true });
  assert.equal(archived.body.archived, true);
  assert.equal(archived.body.title, "Trip to Lisbon", "an omitted key keeps its value");
  assert.deepEqual(await listed(), []);
  assert.deepEqual(await listed("?archived=true"), [id]);

  const restored = await as(host, "ada", "PATCH", path, { archived: false, title: null });
  assert.deepEqual([restored.body.archived, restored.body.title], [false, null]);
  assert.deepEqual(await listed(), [id]);

  // Another user may not talk in the thread either (the mind's submit checks it), with or without a
  // client_msg_id.
  for (const clientMsgId of [undefined, "m-1"]) {
    const foreign = await as(host, "bob", "POST", `${path}/turns`, {
      content: "Let me in",
      ...(clientMsgId ? { client_msg_id: clientMsgId } : {}),
    });
    assert.equal(foreign.status, 404, JSON.stringify(foreign.body));
    assert.equal((foreign.body.error as { code: string }).code, "MIND_THREAD_NOT_FOUND");
  }
  assert.ok(!fake.requests().some((request) => request.headers["x-synth-purpose"] === "reply"));

  const empty = await as(host, "ada", "PATCH", path, {});
  assert.equal(empty.status, 400);
  const unknownKey = await as(host, "ada", "PATCH", path, { owner: "bob" });
  assert.equal(unknownKey.status, 400);

  const other = await as(host, "bob", "PATCH", path, { title: "Mine now" });
  assert.equal(other.status, 404);
  assert.equal((other.body.error as { code: string }).code, "MIND_THREAD_NOT_FOUND");
  assert.equal((await as(host, "ada", "GET", path)).body.title, null);
});

Deno.test("a turn sent while its thread is being deleted is refused like one for a thread that is gone; once a delete fails, the thread takes turns again", async () => {
  await using fake = await startFakeLlm();
  // A module whose forget waits until released (then fails once, when told to).
  let entered = Promise.withResolvers<void>();
  let release = Promise.withResolvers<void>();
  let failNext = false;
  const holding = definePlugin({
    manifest: { id: "holding_forget", version: "1.0.0", isolation: "in_process" },
    setup(ctx) {
      ctx.hooks.on(MIND_HOOKS.forget, async () => {
        entered.resolve();
        await release.promise;
        if (failNext) throw new Error("the module's rows could not be deleted");
        return { deleted: 0 };
      });
    },
  });
  await using host = await mindHost(fake, { plugins: [holding] });
  const send = async (message: string, threadId?: string) => {
    const response = await host.request("/api/chat", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message, ...(threadId ? { thread_id: threadId } : {}) }),
    });
    return { status: response.status, body: await response.json() };
  };
  const thread = (await send("Hello")).body.thread_id as string;
  const deleted = host.request(`/api/threads/${thread}?forget=true`, { method: "DELETE" });
  await entered.promise;
  // The delete is under way and not finished: a new turn for the thread is refused.
  const late = await send("One more thing", thread);
  assert.equal(late.status, 404, JSON.stringify(late.body));
  assert.deepEqual(
    [late.body.error.code, late.body.error.field],
    ["MIND_THREAD_NOT_FOUND", "thread_id"],
  );
  release.resolve();
  assert.equal((await deleted).status, 204);
  await host.kernel.mind.scheduler.idle();
  const db = host.kernel.store.db;
  for (const table of ["mind_turns", "mind_jobs", "mind_events"] as const) {
    const rows = await db.selectFrom(table).select("thread_id").where("thread_id", "=", thread)
      .execute();
    assert.deepEqual(rows, [], table);
  }
  assert.deepEqual(
    host.logs.filter((record) => record.level === "error").map((record) => record.msg),
    [],
  );

  // A delete that fails part-way leaves the thread, which then takes turns as before.
  const kept = (await send("Another topic")).body.thread_id as string;
  entered = Promise.withResolvers<void>();
  release = Promise.withResolvers<void>();
  failNext = true;
  const failing = host.request(`/api/threads/${kept}?forget=true`, { method: "DELETE" });
  await entered.promise;
  release.resolve();
  assert.equal((await failing).status, 500);
  await (await failing).body?.cancel();
  const again = await send("Still here?", kept);
  assert.equal(again.status, 200, JSON.stringify(again.body));
});
