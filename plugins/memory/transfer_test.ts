import assert from "node:assert/strict";
import { createTestHost, type TestHost } from "@synth/testing";
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
  const imported = await target.request("/api/memories/import", ndjson(first));
  assert.equal(imported.status, 200);
  assert.deepEqual(await imported.json(), { imported: 6, skipped: 0, failed: [], dry_run: false });
  const second = await exportText(target, "?include_vectors=true");
  assert.deepEqual(withoutVolatile(second), withoutVolatile(first));

  const again = await (await target.request("/api/memories/import", ndjson(first))).json();
  assert.deepEqual(again, { imported: 0, skipped: 6, failed: [], dry_run: false });
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
  const file = lines.join("\n");

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
