import assert from "node:assert/strict";
import {
  createTestCliIo,
  createTestHost,
  makeTestDir,
  runCli,
  scriptedEmbedder,
  type TestHost,
} from "@synth/testing";
import { createMemoryPlugin, createReembedCommand, type MemoryApi, memoryPlugin } from "./mod.ts";
import { progressLine } from "./cli.ts";

async function seedLexical(dataDir: string, count: number) {
  await using host = await createTestHost({ plugins: [memoryPlugin], dataDir });
  const memory = host.api<MemoryApi>("memory");
  for (let i = 0; i < count; i++) {
    await memory.semantic.add({
      ownerUserId: "local",
      text: `Fact number ${i} about the blue heron.`,
      importance: 0.5,
      source: "user",
    });
  }
  await memory.flushEmbeddings();
}

async function spaces(host: TestHost) {
  return (await host.kernel.store.db.selectFrom("vector_spaces").select(["provider", "status"])
    .orderBy("id").execute())
    .map((row) => `${row.provider}:${row.status}`);
}

async function waitFor(check: () => Promise<boolean>) {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error("condition not reached");
}

Deno.test("progress lines show a bar, counts, rate and ETA", () => {
  assert.equal(
    progressLine({ done: 5_555, total: 12_345 }, 210),
    "[#########...........] 44% 5,555/12,345  210/s ETA 33s",
  );
  assert.equal(progressLine({ done: 0, total: 0 }, 0), "[####################] 100% 0/0  0/s");
});

Deno.test("deno task reembed moves every memory to the new model, then the server starts hybrid", async () => {
  const dataDir = await makeTestDir("synth-reembed-");
  try {
    await seedLexical(dataDir, 150);
    const embedder = scriptedEmbedder({ provider: "ollama", model: "nomic-embed-text", dims: 768 });
    const plugin = createMemoryPlugin({ embedder });
    await assert.rejects(
      () => createTestHost({ plugins: [plugin], dataDir }),
      /MEMORY_EMBEDDING_MISMATCH|embedding model changed/,
    );

    const cli = createTestCliIo({
      env: { SYNTH_DATA_DIR: dataDir },
      commands: { reembed: createReembedCommand(embedder) },
      plugins: [memoryPlugin],
    });
    assert.equal(await runCli(["reembed"], cli.io), 0, cli.stderr());
    assert.match(cli.stdout(), /Re-embedding every memory with ollama\/nomic-embed-text\/768/);
    assert.match(cli.stdout(), /\[####################\] 100% 150\/150/);
    assert.match(cli.stdout(), /Done: 150 memories now use ollama\/nomic-embed-text\/768\./);

    await using host = await createTestHost({ plugins: [plugin], dataDir });
    assert.deepEqual(await spaces(host), ["lexical:retired", "ollama:active"]);
    const leftovers = await host.kernel.store.db.selectFrom("memory_vectors").select((eb) =>
      eb.fn.countAll().as("n")
    )
      .where("space_id", "=", 1).executeTakeFirstOrThrow();
    assert.equal(Number(leftovers.n), 0, "retired vectors are deleted");
    await waitFor(async () =>
      (await (await host.request("/health")).json()).checks.vector_index.status === "ok"
    );
    const result = await host.api<MemoryApi>("memory").recall({
      text: "blue heron",
      ownerUserId: "local",
    });
    assert.equal(result.mode, "hybrid");
    assert.equal(result.embedder?.id, "ollama/nomic-embed-text/768");

    const again = createTestCliIo({
      env: { SYNTH_DATA_DIR: dataDir },
      commands: { reembed: createReembedCommand(embedder) },
      plugins: [memoryPlugin],
    });
    assert.equal(await runCli(["reembed"], again.io), 0);
    assert.match(again.stdout(), /Nothing to re-embed/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("an interrupted re-embedding resumes where it stopped; meanwhile the server recalls by full text", async () => {
  const dataDir = await makeTestDir("synth-reembed-resume-");
  try {
    await seedLexical(dataDir, 200);
    const embedder = scriptedEmbedder({
      provider: "openai",
      model: "text-embedding-3-small",
      dims: 256,
    });
    const stopping = {
      ...embedder,
      embed: async (texts: readonly string[]) => {
        const vectors = await embedder.embed(texts);
        // Ctrl-C while the first batch is being embedded.
        if (embedder.calls === 1) (await first.signalHandler)("SIGINT");
        return vectors;
      },
    };
    const first = createTestCliIo({
      env: { SYNTH_DATA_DIR: dataDir },
      commands: { reembed: createReembedCommand(stopping) },
      plugins: [memoryPlugin],
    });
    const running = runCli(["reembed"], first.io);
    await running.then((code) => assert.equal(code, 130));
    assert.match(first.stdout(), /Stopped; run deno task reembed again to resume/);

    // A server started meanwhile sees the building space: full-text recall, degraded health.
    // Its embedder answers only when the server stops, so it cannot finish the job itself.
    const stalled = {
      ...embedder,
      embed: (_texts: readonly string[], options?: { signal?: AbortSignal }) =>
        new Promise<Float32Array[]>((_resolve, reject) =>
          options?.signal?.addEventListener("abort", () => reject(options.signal!.reason))
        ),
    };
    await using host = await createTestHost({
      plugins: [createMemoryPlugin({ embedder: stalled })],
      dataDir,
    });
    const health = await (await host.request("/health")).json();
    assert.equal(health.checks.vector_index.status, "degraded");
    assert.match(health.checks.vector_index.reason, /^re-embedding/);
    const during = await host.api<MemoryApi>("memory").recall({
      text: "blue heron",
      ownerUserId: "local",
    });
    assert.equal(during.mode, "fts_only");
    assert.ok(during.items.length > 0);
    await host.close();

    const resumed = createTestCliIo({
      env: { SYNTH_DATA_DIR: dataDir },
      commands: { reembed: createReembedCommand(embedder) },
      plugins: [memoryPlugin],
    });
    assert.equal(await runCli(["reembed"], resumed.io), 0, resumed.stderr());
    const firstLine = resumed.stdout().split("\n").find((line) => line.startsWith("["))!;
    assert.match(
      firstLine,
      /\] \d+% (6[4-9]|[7-9]\d|1\d\d)\/200/,
      "it continued from the vectors already written",
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("with onMismatch reembed the server re-embeds by itself and then recalls hybrid", async () => {
  const dataDir = await makeTestDir("synth-reembed-server-");
  try {
    await seedLexical(dataDir, 100);
    const embedder = scriptedEmbedder({
      provider: "ollama",
      model: "mxbai-embed-large",
      dims: 1024,
    });
    await using host = await createTestHost({
      plugins: [createMemoryPlugin({ embedder })],
      dataDir,
      config: { memory: { embedding: { onMismatch: "reembed" } } },
    });
    const memory = host.api<MemoryApi>("memory");
    await waitFor(async () =>
      (await (await host.request("/health")).json()).checks.vector_index.status === "ok"
    );
    const result = await memory.recall({ text: "blue heron", ownerUserId: "local" });
    assert.equal(result.mode, "hybrid");
    assert.deepEqual(await spaces(host), ["lexical:retired", "ollama:active"]);
    const job = await host.kernel.store.db.selectFrom("memory_jobs").selectAll()
      .executeTakeFirstOrThrow();
    assert.equal(job.status, "done");
    const status = await (await host.request(`/api/jobs/${job.id}`)).json();
    assert.deepEqual(status.progress, { done: 100, total: 100 });
    const conflict = await host.request("/api/memories/reembed", { method: "POST" });
    assert.equal(conflict.status, 409);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
