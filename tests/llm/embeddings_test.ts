/**
 * Embeddings through the gateway (spec/llm.md §10 item 20) and memory's
 * vector space on a provider embedder.
 */
import assert from "node:assert/strict";
import { createTestHost } from "@synth/testing";
import { type MemoryApi, memoryPlugin } from "../../plugins/memory/mod.ts";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { fakeEnv, gateway, llmHost, settle } from "./helpers.ts";

function norm(vector: Float32Array): number {
  return Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
}

for (
  const [service, model, dims] of [
    ["openai", "text-embedding-3-small", 256],
    ["ollama", "nomic-embed-text", 768],
  ] as const
) {
  Deno.test(`${service} embeddings return normalised vectors of the configured dimension`, async () => {
    await using fake = await startFakeLlm();
    await using host = await llmHost(fake, {
      chain: [service],
      llm: { roles: { embedding: [{ provider: service, model, dims }] } },
    });
    const texts = Array.from({ length: service === "openai" ? 130 : 40 }, (_, i) => `text ${i}`);
    const result = await gateway(host).embed(texts, { module: "memory" });
    assert.equal(result.vectors.length, texts.length);
    assert.equal(result.dims, dims);
    assert.equal(result.model, model);
    for (const vector of result.vectors) {
      assert.equal(vector.length, dims);
      assert.ok(Math.abs(norm(vector) - 1) < 1e-5);
    }
    const again = await gateway(host).embed(["text 3"]);
    assert.deepEqual(again.vectors[0], result.vectors[3], "deterministic and in input order");
    const path = service === "openai" ? "/v1/embeddings" : "/api/embed";
    const batches = fake.requests().filter((request) => request.path === path);
    assert.deepEqual(
      batches.slice(0, 2).map((request) => (request.body as { input: string[] }).input.length),
      service === "openai" ? [128, 2] : [32, 8],
    );
    const rows = (await gateway(host).ledger.list({ limit: 10 })).items;
    assert.equal(rows[0]!.purpose, "embed");
    assert.equal(rows[0]!.role, "embedding");
  });
}

Deno.test("an embedding chain mixing models stops start-up with LLM_EMBEDDING_CHAIN_MIXED", async () => {
  await using fake = await startFakeLlm();
  await assert.rejects(
    () =>
      llmHost(fake, {
        chain: ["openai", "ollama"],
        llm: {
          roles: {
            embedding: [
              { provider: "openai", model: "text-embedding-3-small", dims: 768 },
              { provider: "ollama", model: "nomic-embed-text", dims: 768 },
            ],
          },
        },
      }),
    (error: Error & { code?: string }) => {
      assert.equal(error.code, "LLM_EMBEDDING_CHAIN_MIXED");
      assert.match(error.message, /mixes models .*would mix vector spaces/);
      return true;
    },
  );
});

Deno.test("the lexical default embeds without a network call or ledger row", async () => {
  await using host = await createTestHost();
  const result = await gateway(host).embed(["a cat on a mat"]);
  assert.equal(result.provider, "lexical");
  assert.equal(result.vectors[0]!.length, 384);
  assert.equal((await gateway(host).ledger.list({ limit: 1 })).items.length, 0);
});

Deno.test("memory embeds into the configured provider's vector space", async () => {
  await using fake = await startFakeLlm();
  await using host = await createTestHost({
    plugins: [memoryPlugin],
    env: fakeEnv(fake, ["openai"]),
    config: {
      llm: {
        roles: { embedding: [{ provider: "openai", model: "text-embedding-3-small", dims: 64 }] },
      },
    },
  });
  const memory = host.api<MemoryApi>("memory");
  assert.equal(memory.embedder.id, "openai/text-embedding-3-small/64");
  assert.equal(memory.embedder.quality, "semantic");
  await memory.semantic.add({
    ownerUserId: "u1",
    text: "The user keeps bees in the garden",
    importance: 0.5,
    source: "user",
  });
  assert.equal(await settle(host, memory.flushEmbeddings()), 1);
  const embedRequests = fake.requests().filter((request) => request.path === "/v1/embeddings");
  assert.ok(embedRequests.length >= 1);
  for (const request of embedRequests) {
    assert.equal((request.body as { dimensions: number }).dimensions, 64);
  }
  const space = await host.kernel.store.db.selectFrom("vector_spaces").selectAll().execute();
  assert.equal(space.length, 1);
  assert.equal(space[0]!.model, "text-embedding-3-small");
  const [row] = (await gateway(host).ledger.list({ limit: 1 })).items;
  assert.equal(row!.module, "memory");
});
