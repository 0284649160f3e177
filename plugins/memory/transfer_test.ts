import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ftsSegmentCount } from "@synth/kernel";
import { createTestHost, type TestHost } from "@synth/testing";
import { sql } from "kysely";
import { z } from "zod";
import { type MemoryApi, memoryPlugin } from "./mod.ts";

async function seed(host: TestHost) {
  const memory = host.api<MemoryApi>("memory");
  memory.episodes.register({
    type: "mood.shift",
    schema: z.strictObject({ from: z.string(), to: z.string() }),
    summarize: (payload) => `mood went from ${payload.from} to ${payload.to}`,
    importance: 0.4,
  });
  const thread = await memory.conversations.createThread({ ownerUserId: "local", title: "Trip" });
  await memory.conversations.addMessage({
    threadId: thread.id,
    role: "user",
    text: "Plan a trip to Lisbon.",
  });
  await memory.conversations.addMessage({
    threadId: thread.id,
    role: "assistant",
    text: "Sure — when?",
    toolCalls: [{ id: "call_1", name: "timer", args: { seconds: 5 } }],
  });
  await memory.semantic.add({
    ownerUserId: "local",
    text: "The user prefers window seats.",
    importance: 0.7,
    source: "user",
  });
  await memory.episodes.add({
    type: "mood.shift",
    payload: { from: "calm", to: "excited" },
    ownerUserId: "local",
  });
  await memory.kv.set("user:local", "nickname", { value: "Ada" });
  await memory.flushEmbeddings();
}

async function exportText(host: TestHost, query = "") {
  const response = await host.request(`/api/memories/export${query}`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^application\/x-ndjson/);
  return await response.text();
}

function withoutVolatile(text: string) {
  return text.trim().split("\n").map((line) => {
    const value = JSON.parse(line);
    if (value.type === "header") delete value.exportedAt;
    if (value.type === "end") delete value.sha256;
    return value;
  });
}

const ndjson = (body: string): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/x-ndjson" },
  body,
});

/**
 * A changed export as a file whose end line vouches for it again (its counts and SHA-256
 * recomputed), as a file written on purpose would: the tests that change lines to see them fail
 * are about those lines, not about the end line's check.
 */
function sealed(lines: ReadonlyArray<Record<string, unknown> | string>): string {
  const body = lines.map((line) => typeof line === "string" ? line : JSON.stringify(line))
    .filter((line) => !line.startsWith('{"type":"end"'));
  const hash = createHash("sha256");
  const counts = { thread: 0, memory: 0, kv: 0 };
  for (const line of body) {
    hash.update(line + "\n");
    try {
      const type = JSON.parse(line).type as keyof typeof counts;
      if (type in counts) counts[type]++;
    } catch { /* a broken line counts as no kind */ }
  }
  return [...body, JSON.stringify({ type: "end", counts, sha256: hash.digest("hex") })].join("\n");
}

Deno.test("export → import into an empty database → export gives the same file apart from the time and hash", async () => {
  await using source = await createTestHost({ plugins: [memoryPlugin] });
  await seed(source);
  const first = await exportText(source, "?include_vectors=true");
  const lines = first.trim().split("\n").map((line) => JSON.parse(line));
  assert.equal(lines[0].type, "header");
  assert.equal(lines[0].format, "synth-mind/memory-export");
  assert.deepEqual(lines.at(-1).counts, { thread: 1, memory: 4, kv: 1 });
  assert.ok(
    lines.filter((line) => line.type === "memory").every((line) => typeof line.vector === "string"),
  );

  await using target = await createTestHost({ plugins: [memoryPlugin] });
  // A dry run says what the import will do, and writes nothing.
  const counts = ({ imported, skipped }: { imported: number; skipped: number }) => ({
    imported,
    skipped,
  });
  const dryRun = async () =>
    counts(await (await target.request("/api/memories/import?dry_run=true", ndjson(first))).json());
  assert.deepEqual(await dryRun(), { imported: 6, skipped: 0 });
  assert.deepEqual(await dryRun(), { imported: 6, skipped: 0 });
  const imported = await target.request("/api/memories/import", ndjson(first));
  assert.equal(imported.status, 200);
  assert.deepEqual(await imported.json(), {
    imported: 6,
    skipped: 0,
    forgotten: 0,
    failed: [],
    dry_run: false,
    unknown_owners: [],
    owner_map_unused: [],
    integrity: "verified",
  });
  const second = await exportText(target, "?include_vectors=true");
  assert.deepEqual(withoutVolatile(second), withoutVolatile(first));

  assert.deepEqual(await dryRun(), { imported: 0, skipped: 6 });
  const again = await (await target.request("/api/memories/import", ndjson(first))).json();
  assert.deepEqual(again, {
    imported: 0,
    skipped: 6,
    forgotten: 0,
    failed: [],
    dry_run: false,
    unknown_owners: [],
    owner_map_unused: [],
    integrity: "verified",
  });
  const recalled = await target.api<MemoryApi>("memory").recall({
    text: "window seats",
    ownerUserId: "local",
  });
  assert.equal(recalled.mode, "hybrid");
  assert.equal(recalled.items[0]?.text, "The user prefers window seats.");
});

Deno.test("a malformed line is reported by number; strict imports nothing; dry runs change nothing", async () => {
  await using source = await createTestHost({ plugins: [memoryPlugin] });
  await seed(source);
  const lines = (await exportText(source)).trim().split("\n");
  lines.splice(3, 0, '{"type":"memory","uid":"not-a-uid"}', "{broken json");
  const file = sealed(lines);

  await using target = await createTestHost({ plugins: [memoryPlugin] });
  const count = async () =>
    Number(
      (await target.kernel.store.db.selectFrom("memories").select((eb) => eb.fn.countAll().as("n"))
        .executeTakeFirstOrThrow()).n,
    );

  const dry = await (await target.request("/api/memories/import?dry_run=true", ndjson(file)))
    .json();
  assert.equal(dry.dry_run, true);
  assert.deepEqual(dry.failed.map((failure: { line: number }) => failure.line), [4, 5]);
  assert.equal(await count(), 0);

  const strict = await target.request("/api/memories/import?strict=true", ndjson(file));
  assert.equal(strict.status, 400);
  const error = (await strict.json()).error;
  assert.equal(error.code, "MEMORY_IMPORT_INVALID");
  assert.equal(error.details.line, 4);
  assert.equal(await count(), 0);

  const lenient = await (await target.request("/api/memories/import", ndjson(file))).json();
  assert.equal(lenient.imported, 6);
  assert.deepEqual(
    lenient.failed.map((failure: { line: number; code: string }) => [failure.line, failure.code]),
    [
      [4, "MEMORY_IMPORT_INVALID"],
      [5, "MEMORY_IMPORT_INVALID"],
    ],
  );
  assert.equal(await count(), 4);
});

Deno.test("an import without a valid header is refused with the line number", async () => {
  await using host = await createTestHost({ plugins: [memoryPlugin] });
  for (const body of ["", '{"type":"memory"}', "not json"]) {
    const response = await host.request("/api/memories/import", ndjson(body));
    assert.equal(response.status, 400);
    const error = (await response.json()).error;
    assert.equal(error.code, "MEMORY_IMPORT_INVALID");
    assert.equal(error.details.line, 1);
  }
  const wrongType = await host.request("/api/memories/import", {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: "x",
  });
  assert.equal(wrongType.status, 415);
});

Deno.test("forgotten memories are absent from the export", async () => {
  await using host = await createTestHost({ plugins: [memoryPlugin] });
  await seed(host);
  const memory = host.api<MemoryApi>("memory");
  const before = await exportText(host);
  const fact = before.split("\n").map((line) => line && JSON.parse(line))
    .find((line) => line && line.kind === "semantic");
  await memory.forget.forget({ ids: [fact.uid] }, { actor: "local", owner: "local" });
  const after = await exportText(host);
  assert.ok(!after.includes(fact.uid));
  assert.ok(!after.includes("window seats"));
});

/** The number of memories in `host`'s store. */
async function memoryCount(host: TestHost): Promise<number> {
  const row = await host.kernel.store.db.selectFrom("memories")
    .select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** An export of `source` with vectors, as parsed lines. */
async function exportedLines(source: TestHost): Promise<Array<Record<string, unknown>>> {
  return (await exportText(source, "?include_vectors=true")).trim().split("\n")
    .map((line) => JSON.parse(line));
}

Deno.test("an imported text over its kind's limit is a numbered MEMORY_TEXT_TOO_LONG failure that stores nothing", async () => {
  await using source = await createTestHost({ plugins: [memoryPlugin] });
  await seed(source);
  const lines = await exportedLines(source);
  const fact = lines.findIndex((line) => line.kind === "semantic");
  lines[fact] = { ...lines[fact], text: "x".repeat(8_001) };
  const file = sealed(lines);

  await using target = await createTestHost({ plugins: [memoryPlugin] });
  const strict = await target.request("/api/memories/import?strict=true", ndjson(file));
  assert.equal(strict.status, 400);
  assert.equal((await strict.json()).error.details.line, fact + 1);
  assert.equal(await memoryCount(target), 0);

  const report = await (await target.request("/api/memories/import", ndjson(file))).json();
  assert.deepEqual(
    report.failed.map((failure: { line: number; code: string }) => [failure.line, failure.code]),
    [[fact + 1, "MEMORY_TEXT_TOO_LONG"]],
  );
  assert.match(report.failed[0].message, /8001 characters, over the limit of 8000/);
  assert.equal(report.imported, 5);
  assert.equal(await memoryCount(target), 3, "the other memories");
  const stored = await target.kernel.store.db.selectFrom("memories").select("uid")
    .where("uid", "=", String(lines[fact]!.uid)).executeTakeFirst();
  assert.equal(stored, undefined);
});

Deno.test("an imported vector that is not base64, or not of the header's dimensions, is a numbered failure, not queued", async () => {
  await using source = await createTestHost({ plugins: [memoryPlugin] });
  await seed(source);
  const lines = await exportedLines(source);
  const memories = lines.flatMap((line, index) => line.type === "memory" ? [index] : []);
  const [short, garbled] = memories as [number, number];
  const vector = String(lines[short]!.vector);
  // Three floats short of the header's 384.
  lines[short] = { ...lines[short], vector: btoa(atob(vector).slice(0, 381 * 4)) };
  lines[garbled] = { ...lines[garbled], vector: "not base64 at all!" };
  const file = sealed(lines);

  await using target = await createTestHost({ plugins: [memoryPlugin] });
  const dry = await (await target.request("/api/memories/import?dry_run=true", ndjson(file)))
    .json();
  assert.deepEqual(dry.failed.map((failure: { line: number }) => failure.line), [
    short + 1,
    garbled + 1,
  ]);
  const report = await (await target.request("/api/memories/import", ndjson(file))).json();
  assert.deepEqual(
    report.failed.map((failure: { line: number; code: string }) => [failure.line, failure.code]),
    [[short + 1, "MEMORY_IMPORT_INVALID"], [garbled + 1, "MEMORY_IMPORT_INVALID"]],
  );
  assert.match(report.failed[0].message, /^vector: 1524 bytes, .* 384 dimensions/);
  assert.match(report.failed[1].message, /^vector: not valid base64/);
  assert.equal(report.imported, 4);
  const uids = [lines[short]!.uid, lines[garbled]!.uid].map(String);
  const rows = await target.kernel.store.db.selectFrom("memories").select("id")
    .where("uid", "in", uids).execute();
  assert.deepEqual(rows, [], "neither memory is stored, so neither waits in the embedding queue");
  assert.equal(await memoryCount(target), 2);
  const queued = await target.kernel.store.db.selectFrom("embed_queue")
    .select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow();
  assert.equal(Number(queued.n), 0, "the good lines' vectors were used");
});

Deno.test("an import line over 1 MiB is refused by number and stores nothing; a bad header leaves the store as it was", async () => {
  await using source = await createTestHost({ plugins: [memoryPlugin] });
  await seed(source);
  const lines = await exportedLines(source);
  const episode = lines.findIndex((line) => line.kind === "episode");
  const huge = {
    ...lines[episode],
    uid: "mem_01J0000000000000000000HUGE",
    episode: {
      ...(lines[episode]!.episode as Record<string, unknown>),
      payload: { from: "a".repeat(1_048_576), to: "b" },
    },
  };
  const body = [lines[0], huge].map((line) => JSON.stringify(line)).join("\n");

  await using target = await createTestHost({ plugins: [memoryPlugin] });
  await seed(target);
  const before = await memoryCount(target);
  const response = await target.request("/api/memories/import", ndjson(body));
  assert.equal(response.status, 200);
  const report = await response.json();
  assert.equal(report.imported, 0);
  assert.deepEqual(
    report.failed.map((failure: { line: number; code: string }) => [failure.line, failure.code]),
    [[2, "MEMORY_IMPORT_INVALID"]],
  );
  assert.match(
    report.failed[0].message,
    /^the line is \d+ bytes, over the limit of 1048576 \(1 MiB\)$/,
  );
  assert.equal(await memoryCount(target), before);

  const fresh = lines.map((line) =>
    line.type === "memory"
      ? { ...line, uid: `mem_01J00000000000000000000${String(line.uid).slice(-3)}` }
      : line
  );
  const badHeaders = [
    { ...lines[0], version: 2 },
    { ...lines[0], format: "other/export" },
    { ...lines[0], embedding: { provider: "lexical" } },
  ];
  for (const header of badHeaders) {
    const file = [header, ...fresh.slice(1)].map((line) => JSON.stringify(line)).join("\n");
    const refused = await target.request("/api/memories/import", ndjson(file));
    assert.equal(refused.status, 400);
    const error = (await refused.json()).error;
    assert.equal(error.code, "MEMORY_IMPORT_INVALID");
    assert.equal(error.details.line, 1);
    assert.equal(await memoryCount(target), before, JSON.stringify(header));
  }
});

Deno.test("a line that fails part-way through storing leaves nothing of itself behind", async () => {
  await using source = await createTestHost({ plugins: [memoryPlugin] });
  await seed(source);
  const lines = await exportedLines(source);
  const message = lines.findIndex((line) => line.kind === "message");
  const file = sealed(lines);

  await using target = await createTestHost({ plugins: [memoryPlugin] });
  // The database refuses the first message's row after its memory row went in (as a full disk
  // would): the line's savepoint must take the memory row back out.
  await sql`CREATE TEMP TRIGGER refuse_message BEFORE INSERT ON memory_messages
    WHEN NEW.seq = 1 BEGIN SELECT RAISE(ABORT, 'refused'); END`.execute(target.kernel.store.db);
  const report = await (await target.request("/api/memories/import", ndjson(file))).json();
  assert.deepEqual(
    report.failed.map((failure: { line: number; code: string }) => [failure.line, failure.code]),
    [[message + 1, "MEMORY_IMPORT_INVALID"]],
  );
  assert.equal(report.failed[0].message, "the line could not be stored");
  const orphan = await target.kernel.store.db.selectFrom("memories").select("id")
    .where("uid", "=", String(lines[message]!.uid)).executeTakeFirst();
  assert.equal(orphan, undefined);
  assert.equal(await memoryCount(target), 3, "every other memory");
});

Deno.test("a message at a seq its thread already has fails by number, in a dry run as in the import", async () => {
  await using source = await createTestHost({ plugins: [memoryPlugin] });
  await seed(source);
  const lines = await exportedLines(source);
  const first = lines.findIndex((line) => line.kind === "message");
  const message = first + 1;
  lines.splice(message, 0, { ...lines[first], uid: "mem_01J000000000000000000000SQ" });
  const file = sealed(lines);

  await using target = await createTestHost({ plugins: [memoryPlugin] });
  // The dry run sees the taken seq as the import does: the two answers agree.
  const dry = await (await target.request("/api/memories/import?dry_run=true", ndjson(file)))
    .json();
  const report = await (await target.request("/api/memories/import", ndjson(file))).json();
  for (const answer of [dry, report]) {
    assert.deepEqual(
      answer.failed.map((failure: { line: number; code: string }) => [failure.line, failure.code]),
      [[message + 1, "MEMORY_IMPORT_INVALID"]],
    );
    assert.match(answer.failed[0].message, /^Message 1 of thread "thr_\w+" is already taken/);
    assert.equal(answer.imported, 6);
  }
  const extra = await target.kernel.store.db.selectFrom("memories").select("id")
    .where("uid", "=", String(lines[message]!.uid)).executeTakeFirst();
  assert.equal(extra, undefined);
  assert.equal(await memoryCount(target), 4, "every other memory");
  // Against what is stored: importing the file again skips the stored lines and fails the seq.
  const again = await (await target.request("/api/memories/import?dry_run=true", ndjson(file)))
    .json();
  assert.deepEqual(
    again.failed.map((failure: { line: number }) => failure.line),
    [message + 1],
  );
});

Deno.test("a message longer than a memory's text is kept whole: read back, exported and imported whole; search sees its first 8,000 characters", async () => {
  await using source = await createTestHost({ plugins: [memoryPlugin] });
  const memory = source.api<MemoryApi>("memory");
  const thread = await memory.conversations.createThread({ ownerUserId: "local", title: "Long" });
  const long = `${"alpha beta gamma ".repeat(1_000)}omega-tail`.trim(); // 17,009 characters
  assert.ok(long.length > 8_000 && long.length <= 32_000);
  const written = await memory.conversations.addMessage({
    threadId: thread.id,
    role: "user",
    text: long,
  });
  assert.equal(written.text, long);
  const window = await memory.conversations.threadWindow(thread.id, { maxTokens: 100_000 });
  assert.equal(window.at(-1)?.text, long, "the whole message comes back");
  const row = await source.kernel.store.db.selectFrom("memories").select("text")
    .where("uid", "=", written.uid).executeTakeFirstOrThrow();
  assert.equal(row.text, long.slice(0, 8_000), "search and the embedder see the first 8,000");
  await assert.rejects(
    memory.conversations.addMessage({
      threadId: thread.id,
      role: "user",
      text: "x".repeat(32_001),
    }),
    /MEMORY_TEXT_TOO_LONG|too long/i,
  );

  const file = await exportText(source);
  const exported = file.trim().split("\n").map((line) => JSON.parse(line))
    .find((line) => line.type === "memory" && line.kind === "message");
  assert.equal(exported.text, long);
  await using target = await createTestHost({ plugins: [memoryPlugin] });
  const imported = await (await target.request("/api/memories/import", ndjson(file))).json();
  assert.deepEqual(imported.failed, []);
  const again = await target.api<MemoryApi>("memory").conversations.threadWindow(thread.id, {
    maxTokens: 100_000,
  });
  assert.equal(again.at(-1)?.text, long);
  assert.deepEqual(withoutVolatile(await exportText(target)), withoutVolatile(file));
});

Deno.test("an import leaves the full-text index merged into few segments", async () => {
  await using host = await createTestHost({ plugins: [memoryPlugin] });
  const memory = host.api<MemoryApi>("memory");
  const segments = async () => {
    const { rows } = await sql<{ block: Uint8Array }>`
      SELECT block FROM memory_fts_data WHERE id = 10`.execute(host.kernel.store.db);
    return ftsSegmentCount(rows[0]!.block);
  };
  // Each memory added on its own is a segment of its own.
  for (let i = 0; i < 12; i++) {
    await memory.semantic.add({
      ownerUserId: "local",
      text: `Fact number ${i} about the garden.`,
      importance: 0.5,
      source: "user",
    });
  }
  assert.ok(await segments() > 4, `${await segments()} segments before`);
  const header = JSON.stringify({
    type: "header",
    format: "synth-mind/memory-export",
    version: 1,
    exportedAt: new Date(host.clock.now()).toISOString(),
    schemaVersion: 1,
    embedding: { provider: "none", model: "none", dims: 1, quality: "lexical" },
  });
  const line = JSON.stringify({
    type: "memory",
    uid: `mem_${"1".padStart(26, "0")}`,
    kind: "semantic",
    owner: "local",
    threadId: null,
    text: "The garden has three apple trees.",
    source: "user",
    sourceRef: null,
    trust: "high",
    importance: 0.5,
    suspicious: false,
    createdAt: new Date(host.clock.now()).toISOString(),
    expiresAt: null,
    lastRecalledAt: null,
    recallCount: 0,
    reinforcedCount: 0,
    lastReinforcedAt: null,
  });
  const report = await memory.transfer.importText(`${header}\n${line}`);
  assert.equal(report.imported, 1);
  assert.ok(await segments() <= 4, `${await segments()} segments after`);
});

Deno.test("an import names the owners that are no user here, so a dry run shows what to map, and a mapping that matched nothing", async () => {
  await using source = await createTestHost({ plugins: [memoryPlugin] });
  await seed(source);
  const file = await exportText(source);
  const lines = file.trim().split("\n").map((line) => JSON.parse(line));
  const expected = {
    owner: "local",
    memories: lines.filter((line) => line.type === "memory" && line.owner === "local").length,
    threads: lines.filter((line) => line.type === "thread").length,
  };
  assert.ok(expected.memories > 0 && expected.threads > 0);

  await using target = await createTestHost({ plugins: [memoryPlugin] });
  // Another server's admin: "local" is neither a user there nor the caller.
  const admin = target.as({ userId: "usr_admin2", role: "admin" });
  const dry = await (await admin.request("/api/memories/import?dry_run=true", ndjson(file))).json();
  assert.deepEqual(dry.unknown_owners, [expected]);
  assert.deepEqual(dry.owner_map_unused, []);
  // A mapping whose old side owns nothing in the file (a name, not the file's id) is named.
  const miss = await (await admin.request(
    "/api/memories/import?dry_run=true&owner_map=ada:usr_admin2,local:usr_admin2",
    ndjson(file),
  )).json();
  assert.deepEqual(miss.owner_map_unused, ["ada"]);
  assert.deepEqual(miss.unknown_owners, [], "local was mapped");
  const mapped = await (await admin.request(
    "/api/memories/import?owner_map=local:usr_admin2",
    ndjson(file),
  )).json();
  assert.deepEqual(mapped.unknown_owners, [], "mapped to the caller: known");
  assert.equal(mapped.failed.length, 0);
  const seen = await (await admin.request("/api/memories?limit=200")).json();
  assert.equal(seen.items.length, expected.memories, "the mapped memories are the caller's");
  // The importing caller counts as known even without a user row (auth off: "local").
  const own = await (await target.request("/api/memories/import?dry_run=true", ndjson(file)))
    .json();
  assert.deepEqual(own.unknown_owners, []);

  // A username where a user id belongs is refused with the id, not stored under nobody.
  await target.kernel.store.db.insertInto("users").values({
    id: "usr_vic",
    username: "vic",
    password_hash: "x",
    role: "viewer",
    active: 1,
    token_version: 0,
    created_at: 0,
    updated_at: 0,
    last_login_at: null,
  }).execute();
  for (
    const [method, path, field] of [
      ["POST", "/api/memories/import?owner_map=local:vic", "owner_map"],
      ["GET", "/api/memories/export?owner=vic", "owner"],
    ] as const
  ) {
    const refused = await admin.request(path, method === "POST" ? ndjson(file) : {});
    assert.equal(refused.status, 400, path);
    const error = (await refused.json()).error;
    assert.equal(error.field, field);
    assert.match(error.message, /"vic" is a username; .* takes user ids: use usr_vic/);
  }
  const exported = await admin.request("/api/memories/export?owner=usr_vic");
  assert.equal(exported.status, 200);
  await exported.body?.cancel();
});

Deno.test("a memory of a thread neither in the file nor stored fails its line, in a dry run as in the import", async () => {
  await using source = await createTestHost({ plugins: [memoryPlugin] });
  await seed(source);
  const lines = (await exportedLines(source)).filter((line) => line.type !== "thread");
  const file = sealed(lines);
  const ofThread = lines.flatMap((line, index) =>
    line.type === "memory" && line.threadId !== null ? [index + 1] : []
  );
  assert.equal(ofThread.length, 2, "the thread's two messages");

  await using target = await createTestHost({ plugins: [memoryPlugin] });
  const outcome = (
    report: { imported: number; failed: Array<{ line: number; code: string }> },
  ) => ({
    imported: report.imported,
    failed: report.failed.map((failure) => [failure.line, failure.code]),
  });
  const expected = {
    imported: 3,
    failed: ofThread.map((line) => [line, "MEMORY_IMPORT_INVALID"]),
  };
  const dry = await (await target.request("/api/memories/import?dry_run=true", ndjson(file)))
    .json();
  assert.deepEqual(outcome(dry), expected);
  assert.match(dry.failed[0].message, /refers to thread "thr_\w+", which is neither in the file/);
  assert.equal(await memoryCount(target), 0, "a dry run writes nothing");
  const report = await (await target.request("/api/memories/import", ndjson(file))).json();
  assert.deepEqual(outcome(report), expected);
});

Deno.test("importing an older export brings back nothing a forget removed: a memory, a deleted thread's messages, a deleted user's rows", async () => {
  await using host = await createTestHost({ plugins: [memoryPlugin] });
  await seed(host);
  const memory = host.api<MemoryApi>("memory");
  const before = await exportText(host);
  const lines = withoutVolatile(before).filter((line) =>
    line.type !== "header" && line.type !== "end"
  );
  assert.deepEqual(
    lines.map((line) => line.type === "memory" ? line.kind : line.type).sort(),
    ["episode", "kv", "message", "message", "semantic", "thread"],
  );
  // The file itself imports whole into a database that never had it.
  {
    await using empty = await createTestHost({ plugins: [memoryPlugin] });
    const fresh = await (await empty.request("/api/memories/import", ndjson(before))).json();
    assert.deepEqual([fresh.imported, fresh.skipped, fresh.forgotten], [6, 0, 0]);
  }

  const fact = lines.find((line) => line.kind === "semantic")!;
  await memory.forget.forget({ ids: [fact.uid] }, { actor: "local", owner: "local" });
  const thread = lines.find((line) => line.type === "thread")!;
  assert.ok(await memory.conversations.deleteThread(thread.id));
  const answers = [];
  for (const query of ["?dry_run=true", ""]) {
    const response = await host.request(`/api/memories/import${query}`, ndjson(before));
    assert.equal(response.status, 200);
    answers.push(await response.json());
  }
  for (const answer of answers) {
    // The thread, its two messages and the fact are forgotten; the episode and kv row are stored.
    assert.deepEqual(
      [answer.imported, answer.skipped, answer.forgotten, answer.failed],
      [0, 6, 4, []],
      JSON.stringify(answer),
    );
  }
  const after = await exportText(host);
  assert.ok(!after.includes("window seats") && !after.includes("Lisbon"), after);
  assert.equal(await memory.conversations.getThread(thread.id), null);

  await memory.forget.forgetUser("local", "local");
  const again = await (await host.request("/api/memories/import", ndjson(before))).json();
  assert.deepEqual([again.imported, again.skipped, again.forgotten], [0, 6, 6]);
  assert.equal(await memoryCount(host), 0);
  assert.equal(await memory.kv.get("user:local", "nickname"), null);
  // What is kept is ids, never content. (The thread's messages went with it: its id stands for
  // them.)
  const kept = await host.kernel.store.db.selectFrom("forgotten").select(["what", "key"])
    .orderBy("what").orderBy("key").execute();
  const episode = lines.find((line) => line.kind === "episode")!;
  assert.deepEqual(
    kept.map((row) => ({ ...row })),
    [
      { what: "kv", key: "user:local" },
      ...[fact.uid, episode.uid].sort().map((key) => ({ what: "memory", key })),
      { what: "thread", key: thread.id },
    ],
  );
});

Deno.test("an imported line whose text holds a NUL character fails by number instead of being stored cut short", async () => {
  await using source = await createTestHost({ plugins: [memoryPlugin] });
  await seed(source);
  const lines = (await exportText(source)).trim().split("\n").map((line) => JSON.parse(line));
  const at = lines.findIndex((line) => line.kind === "semantic");
  lines[at].text = "The user prefers\u0000 window seats.";
  await using target = await createTestHost({ plugins: [memoryPlugin] });
  const file = sealed(lines);
  const answer = await (await target.request("/api/memories/import", ndjson(file))).json();
  assert.deepEqual(answer.failed, [{
    line: at + 1,
    code: "MEMORY_IMPORT_INVALID",
    message: "text: must not contain the NUL character (U+0000)",
  }]);
  assert.equal(answer.imported, 5);
});

Deno.test("the end line vouches for the file: a changed, recounted or cut file, or lines after the end, are told", async () => {
  await using source = await createTestHost({ plugins: [memoryPlugin] });
  await seed(source);
  const exported = (await exportText(source)).trim().split("\n");
  const end = exported.length;
  const fact = exported.findIndex((line) => line.includes("window seats"));
  await using target = await createTestHost({ plugins: [memoryPlugin] });
  const importOf = async (lines: string[], query = "?dry_run=true") =>
    await (await target.request(`/api/memories/import${query}`, ndjson(lines.join("\n")))).json();
  const failedAt = (report: { failed: Array<{ line: number; message: string }> }) =>
    report.failed.map((failure) => [failure.line, failure.message]);

  assert.equal((await importOf(exported)).integrity, "verified");
  // CRLF line ends (a copy through another system) are not a change to the lines.
  assert.equal((await importOf(exported.map((line) => line + "\r"))).integrity, "verified");

  // One changed word, with the line still valid: told at the end line, the rest imports.
  const changed = exported.with(fact, exported[fact]!.replace("window", "aisle"));
  const report = await importOf(changed);
  assert.equal(report.integrity, "mismatch");
  assert.deepEqual(failedAt(report), [[
    end,
    "end: the lines before it do not hash to its sha256: the file was changed or cut after export",
  ]]);
  assert.equal(report.imported, 6, "a lenient import still takes every valid line");
  // A strict import takes nothing from a file its end line does not vouch for.
  const strict = await target.request(
    "/api/memories/import?strict=true",
    ndjson(changed.join("\n")),
  );
  assert.equal(strict.status, 400);
  assert.equal((await strict.json()).error.details.line, end);
  assert.equal(await memoryCount(target), 0);

  // A line dropped, and the hash recomputed by hand: the counts still tell.
  const dropped = exported.filter((_, index) => index !== fact);
  const rehashed = sealed(dropped).split("\n");
  rehashed[rehashed.length - 1] = rehashed.at(-1)!.replace(/"memory":\d+/, '"memory":4');
  assert.deepEqual(failedAt(await importOf(rehashed)), [[
    end - 1,
    "end: it counts 1 thread, 4 memory and 1 kv lines; the file has 1, 3 and 1",
  ]]);

  // Cut before its end: nothing vouches for it, which the report says.
  const cut = await importOf(exported.slice(0, -2));
  assert.equal(cut.integrity, "no_end_line");
  assert.deepEqual(cut.failed, []);

  // An end line that fails its own schema is still the end: a mismatch, nothing after it taken.
  const broken = exported.with(end - 1, '{"type":"end","counts":{}}');
  const malformed = await importOf([...broken, exported[fact]!]);
  assert.equal(malformed.integrity, "mismatch");
  assert.deepEqual(malformed.failed.map((failure: { line: number }) => failure.line), [
    end,
    end + 1,
  ]);

  // A line after the end line fails by number.
  const after = await importOf([...exported, exported[fact]!]);
  assert.equal(after.integrity, "verified");
  assert.deepEqual(failedAt(after), [[end + 1, `the line comes after the end line (line ${end})`]]);
});
