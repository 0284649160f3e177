/**
 * No acknowledged write is lost when the server is killed with SIGKILL in
 * the middle of a burst of writes, nor a message accepted into the turn queue.
 */
import assert from "node:assert/strict";
import { makeTestDir, spawnServer } from "@synth/testing";
import { startFakeLlm } from "./fakes/llm/mod.ts";
import { eventually, fakeEnv } from "./llm/helpers.ts";

Deno.test("SIGKILL during a burst of writes loses no acknowledged write", async () => {
  const dataDir = await makeTestDir("synth-durability-");
  try {
    const server = await spawnServer({ dataDir });
    const acknowledged: string[] = [];
    const killAfter = 150;
    let killed = false;
    const writer = async (worker: number) => {
      for (let i = 0; !killed; i++) {
        try {
          const response = await fetch(`${server.url}/api/memories`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              text: `Burst fact ${worker}-${i}: the ${i}th item of writer ${worker}.`,
            }),
          });
          if (response.status === 201) acknowledged.push((await response.json()).id);
          else await response.body?.cancel();
        } catch {
          return; // the server is gone
        }
        if (acknowledged.length >= killAfter && !killed) {
          killed = true;
          server.process.kill("SIGKILL");
        }
      }
    };
    await Promise.all([1, 2, 3, 4].map(writer));
    const status = await server.status;
    assert.equal(status.signal, "SIGKILL");
    assert.ok(acknowledged.length >= killAfter);

    await using restarted = await spawnServer({ dataDir });
    const missing: string[] = [];
    for (const id of acknowledged) {
      const response = await fetch(`${restarted.url}/api/memories/${id}`);
      if (response.status !== 200) missing.push(id);
      await response.body?.cancel();
    }
    assert.deepEqual(
      missing,
      [],
      `${missing.length} of ${acknowledged.length} acknowledged writes were lost`,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("SIGKILL while a turn waits in the queue loses no accepted message: the next start keeps it in its thread", async () => {
  await using fake = await startFakeLlm();
  const release = Promise.withResolvers<void>();
  // The first turn's reply is held, so the second waits behind it when the server dies.
  fake.scene({
    match: { purpose: "reply", lastUserIncludes: "first" },
    reply: { text: "too late" },
    timing: { heldUntil: release.promise },
  });
  const dataDir = await makeTestDir("synth-durability-queue-");
  try {
    // The purpose header lets the fake match the reply request.
    const env = { ...fakeEnv(fake, ["openai"]), SYNTH_LLM_TEST_HEADERS: "true" };
    const server = await spawnServer({ dataDir, env });
    const post = async (path: string, body: unknown) =>
      await (await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      })).json();
    const thread = await post("/api/threads", {});
    const running = await post(`/api/threads/${thread.id}/turns`, { content: "the first message" });
    await eventually(
      fake.untilRequests(1, (request) => request.headers["x-synth-purpose"] === "reply"),
      "the first turn asked for its reply",
    );
    const waiting = await post(`/api/threads/${thread.id}/turns`, {
      content: "the second message, accepted while the first runs",
    });
    assert.equal(waiting.user_message_id, null, "accepted, not yet in its thread");
    server.process.kill("SIGKILL");
    assert.equal((await server.status).signal, "SIGKILL");
    release.resolve();

    await using restarted = await spawnServer({ dataDir, env });
    const messages = await (await fetch(`${restarted.url}/api/threads/${thread.id}/messages`))
      .json();
    assert.deepEqual(
      messages.items.map((message: { role: string; content: string }) => [
        message.role,
        message.content,
      ]),
      [
        ["user", "the first message"],
        ["user", "the second message, accepted while the first runs"],
      ],
    );
    const turn = await (await fetch(`${restarted.url}/api/turns/${waiting.turn_id}`)).json();
    assert.equal(turn.status, "failed");
    assert.deepEqual(turn.error, {
      code: "MIND_INTERRUPTED",
      message: "The server stopped before this turn began; the message is kept in its thread",
    });
    assert.equal(turn.user_message_id, messages.items[1].id);
    const first = await (await fetch(`${restarted.url}/api/turns/${running.turn_id}`)).json();
    assert.deepEqual(first.error, {
      code: "MIND_INTERRUPTED",
      message: "The server stopped during this turn",
    });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
