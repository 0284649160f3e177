/**
 * What a turn, its background jobs, a state snapshot, the API's GET routes,
 * an export and a forget read must not grow with the whole history: no
 * statement they run reads a table that gains rows with every turn from end
 * to end. SQLite's own query plans are the evidence, for every statement the
 * kernel prepared while they ran. The windows the spec gives the scores keep
 * their meaning (the tests at the end).
 */
import assert from "node:assert/strict";
import type { TestHost } from "@synth/testing";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chat, mindHost } from "./helpers.ts";
import { type PlanRow, recordPrepared, unboundedRead } from "./plans.ts";

/** A plan of single steps under the root, for the tests of {@link unboundedRead}. */
const flat = (...details: string[]): PlanRow[] =>
  details.map((detail, index) => ({ id: index + 1, parent: 0, detail }));

Deno.test("unboundedRead: a scan of a growing table needs a LIMIT and no sort before it", () => {
  assert.equal(
    unboundedRead("select count(*) from t", flat("SCAN psyche_assurance_turns")),
    "SCAN psyche_assurance_turns (no LIMIT)",
  );
  assert.equal(
    unboundedRead(
      "select * from mind_turns order by x limit 1",
      flat("SCAN mind_turns", "USE TEMP B-TREE FOR ORDER BY"),
    ),
    "SCAN mind_turns (all its rows sorted)",
  );
  assert.equal(
    unboundedRead(
      "select * from mind_turns order by seq desc limit 1",
      flat("SCAN mind_turns USING INDEX seq"),
    ),
    null,
  );
  // The newest rows by an index, then grouped: only the limited rows are sorted.
  assert.equal(
    unboundedRead(
      "select s, count(*) from (select s from psyche_dreaming_sets limit 9) group by s",
      [
        { id: 2, parent: 0, detail: "CO-ROUTINE recent" },
        { id: 5, parent: 2, detail: "SCAN psyche_dreaming_sets USING INDEX created" },
        { id: 20, parent: 0, detail: "SCAN recent" },
        { id: 30, parent: 0, detail: "USE TEMP B-TREE FOR GROUP BY" },
      ],
    ),
    null,
  );
  // A thread's rows sorted: bounded by the thread. Every completed turn sorted: not.
  assert.equal(
    unboundedRead(
      "select * from psyche_assurance_concerns where thread_id = ? order by opened_at",
      flat(
        "SEARCH psyche_assurance_concerns USING INDEX t (thread_id=?)",
        "USE TEMP B-TREE FOR ORDER BY",
      ),
    ),
    null,
  );
  assert.equal(
    unboundedRead(
      "select state_after from mind_turns where status = ? order by seq desc limit 1",
      flat("SEARCH mind_turns USING INDEX s (status=?)", "USE TEMP B-TREE FOR ORDER BY"),
    ),
    "SEARCH mind_turns USING INDEX s (status=?) (all its rows sorted)",
  );
  assert.equal(
    unboundedRead("select * from kv", flat("SCAN kv")),
    null,
    "kv does not grow per turn",
  );
  assert.equal(
    unboundedRead(
      "select * from mind_ledger where job_id = ?",
      flat("SEARCH mind_ledger USING INDEX mind_ledger_job (job_id=?)"),
    ),
    null,
  );
});

/** A conversation of three turns and a command, each turn's jobs done; its thread and turns. */
async function converse(host: TestHost): Promise<{ threadId: string; turnIds: string[] }> {
  let threadId: string | undefined;
  const turnIds: string[] = [];
  for (const text of ["Plan the release", "What comes next?", "No, that is wrong.", "/state"]) {
    const reply = await chat(host, text, threadId);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    threadId ??= reply.body.thread_id as string;
    if (reply.body.turn_id) turnIds.push(reply.body.turn_id as string);
    await host.kernel.mind.scheduler.idle();
  }
  return { threadId: threadId!, turnIds };
}

/** The ids a GET path's `{id}` takes, by the path's start; other parameters are not filled. */
function fill(path: string, ids: { threadId: string; turnId: string }): string | null {
  if (/^\/api\/threads\/\{id\}/.test(path)) return path.replace("{id}", ids.threadId);
  if (/^\/api\/turns\/\{id\}/.test(path)) return path.replace("{id}", ids.turnId);
  return path.includes("{") ? null : path;
}

Deno.test("a conversation, its jobs, the state, every GET route, an export and a forget read no growing table from end to end", async () => {
  using recording = recordPrepared();
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const { threadId, turnIds } = await converse(host);
  const document = await (await host.request("/openapi.json")).json() as {
    paths: Record<string, { get?: unknown }>;
  };
  const visited: string[] = [];
  for (const [template, operations] of Object.entries(document.paths)) {
    // Streams stay open (the WebSocket, a turn's or a project's events).
    if (!operations.get || template === "/ws" || template.endsWith("/events")) continue;
    const path = fill(template, { threadId, turnId: turnIds[0]! });
    if (path === null) continue;
    const response = await host.request(path);
    await response.body?.cancel();
    assert.ok(response.status < 500, `${path}: ${response.status}`);
    visited.push(path);
  }
  assert.ok(visited.includes(`/api/threads/${threadId}/messages`));
  assert.ok(visited.includes("/api/state") && visited.includes("/api/ledger"));
  // An export reads only the caller's rows, a forget only the thread's.
  for (const command of ["/export", "/reflect", "/forget thread"]) {
    assert.equal((await chat(host, command, threadId)).status, 200, command);
    await host.kernel.mind.scheduler.idle();
  }
  recording.assertBounded(host.dataDir);
});

Deno.test("the assurance scores count the newest 500 turns and samples, not all of them", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const db = host.kernel.store.db;
  // 100 old turns without a tag and 100 old confirmed concerns, then 500 newer turns with one and
  // 500 newer refuted concerns: over everything the two rates would be 100/600 and 500/600.
  const turn = (index: number, tagMissing: 0 | 1) => ({
    turn_id: `t${index}`,
    thread_id: "th",
    at: index,
    u_pre: 0.5,
    u_post: 0.5,
    policy: null,
    signals: "{}",
    tag_missing: tagMissing,
    clarified: 0,
  });
  // What a confirmed (outcome 1) or refuted (0) concern leaves, as `settle` writes it.
  const sample = (index: number, outcome: 0 | 1) => ({
    turn_id: `t${index}`,
    concern_id: `c${index}`,
    kind: "reply",
    confidence: 0.3,
    outcome,
    at: index,
  });
  await db.insertInto("psyche_assurance_turns").values([
    ...Array.from({ length: 100 }, (_, index) => turn(index, 1)),
    ...Array.from({ length: 500 }, (_, index) => turn(1_000 + index, 0)),
  ]).execute();
  await db.insertInto("psyche_assurance_samples").values([
    ...Array.from({ length: 100 }, (_, index) => sample(index, 1)),
    ...Array.from({ length: 500 }, (_, index) => sample(1_000 + index, 0)),
  ]).execute();
  const state = ((await chat(host, "/state")).body.data as Record<string, Record<string, unknown>>)
    .psyche_assurance!;
  assert.equal(state.tag_missing_rate, 0);
  assert.equal(state.concern_precision, 1);
});

Deno.test("the forecast counts per status cover the newest sets of the window, not all of them", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const set = (index: number, status: "parse_failed" | "expired") => ({
    id: `s${index}`,
    turn_id: `t${index}`,
    thread_id: "th",
    created_at: index,
    model: "gpt",
    status,
    embedder_id: "e",
    quality: "lexical" as const,
  });
  await host.kernel.store.db.insertInto("psyche_dreaming_sets").values([
    ...Array.from({ length: 30 }, (_, index) => set(index, "parse_failed")),
    ...Array.from({ length: 5 }, (_, index) => set(100 + index, "expired")),
  ]).execute();
  const calibration = await (await host.request("/api/forecasts/calibration?window=5")).json();
  assert.deepEqual(calibration.counts, { expired: 5 });
  assert.equal(calibration.parse_failure_rate, 0);
  const wider = await (await host.request("/api/forecasts/calibration?window=10")).json();
  assert.deepEqual(wider.counts, { expired: 5, parse_failed: 5 });
  assert.equal(wider.parse_failure_rate, 0.5);
});

Deno.test("the memory stats and the memory gauge keep counting what the rows hold through adds and forgets", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const ada = host.as({ userId: "ada", role: "operator" });
  const remember = async (client: Pick<TestHost, "request">, text: string) => {
    const response = await client.request("/api/memories", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text }),
    });
    assert.equal(response.status, 201);
    return (await response.json()).id as string;
  };
  const { threadId } = await converse(host);
  await remember(host, "The staging database runs on port 5433.");
  const forgotten = await remember(ada, "Ada deploys on Fridays.");
  await remember(ada, "Ada prefers short answers.");
  await host.kernel.store.db.insertInto("memories").values({
    uid: "shared-self",
    kind: "self",
    owner_user_id: null,
    text: "I am the team's assistant.",
    source: "system",
    trust: "high",
    importance: 0.5,
    content_hash: "shared-self",
    created_at: host.clock.now(),
  }).execute();
  assert.equal((await ada.request(`/api/memories/${forgotten}`, { method: "DELETE" })).status, 204);
  const forget = await host.request(`/api/threads/${threadId}?forget=true`, { method: "DELETE" });
  assert.ok(forget.status < 300, String(forget.status));

  // What a count of the rows says, against the kept counts.
  const counted = async (owner: string) => {
    const rows = await host.kernel.store.db.selectFrom("memories")
      .select(["kind", (eb) => eb.fn.countAll<number>().as("n")])
      .where((eb) =>
        eb.or([
          eb("owner_user_id", "=", owner),
          eb.and([eb("owner_user_id", "is", null), eb("kind", "=", "self")]),
        ])
      ).groupBy("kind").execute();
    return Object.fromEntries(
      ["message", "episode", "semantic", "self"].map((kind) => [
        kind,
        Number(rows.find((row) => row.kind === kind)?.n ?? 0),
      ]),
    );
  };
  for (const [client, owner] of [[host, "local"], [ada, "ada"]] as const) {
    const stats = await (await client.request("/api/memories/stats")).json();
    assert.deepEqual(stats.counts, await counted(owner), owner);
  }
  assert.deepEqual(
    (await (await ada.request("/api/memories/stats")).json()).counts,
    { message: 0, episode: 0, semantic: 1, self: 1 },
    "Ada's remaining fact and the shared self memory",
  );
  const all = await host.kernel.store.db.selectFrom("memories")
    .select(["kind", (eb) => eb.fn.countAll<number>().as("n")]).groupBy("kind").execute();
  const metrics = await (await host.request("/metrics")).text();
  for (const row of all) {
    assert.match(metrics, new RegExp(`synth_memory_items\\{kind="${row.kind}"\\} ${row.n}\\n`));
  }
});
