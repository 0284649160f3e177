/**
 * A 401 whose body repeats the API key, during a chat over a real
 * WebSocket (spec/llm.md §10 item 14): the key appears in no WS event, log
 * line, error body or ledger row.
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { mindHost } from "../mind/helpers.ts";
import { connect } from "../ws/client.ts";
import { eventually, TEST_KEYS } from "./helpers.ts";

for (const service of ["anthropic", "openai"] as const) {
  Deno.test(`${service}: a 401 repeating the key leaks it into no WebSocket event, log line, error body or ledger row`, async () => {
    const key = TEST_KEYS[service];
    await using fake = await startFakeLlm({
      scenes: [{
        match: { purpose: "reply" },
        fault: { status: 401, message: `invalid x-api-key ${key} (Bearer ${key})` },
      }],
    });
    await using host = await mindHost(fake, { chain: [service] });
    const server = host.listen();
    const client = await connect(server.url);
    try {
      client.send("hello", { topics: ["chat", "notices"] });
      await client.next("welcome");
      client.send("chat.send", { content: "hello" });
      const done = await eventually(client.next("chat.done"), "the turn ended on the socket");
      assert.equal(done.data.status, "failed");
      const error = done.data.error as { code: string; message: string };
      assert.equal(error.code, "LLM_UNAVAILABLE");
      assert.match(error.message, new RegExp(`${service}: invalid API key \\(401\\)`));
      const notice = client.received.find((message) => message.type === "notice");
      assert.equal(notice?.data.code, "LLM_UNAVAILABLE", "the notice went out before chat.done");

      const sent = fake.requests().find((request) =>
        request.headers["x-synth-purpose"] === "reply"
      );
      assert.ok(
        JSON.stringify(sent?.headers).includes(key),
        "the key was sent to the provider (so the search below means something)",
      );
      const generate = await host.request("/api/generate", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt: "again" }),
      });
      const captured = {
        "WebSocket events": JSON.stringify(client.received),
        "log lines": JSON.stringify(host.logs),
        "error body": await generate.text(),
        "ledger rows": await (await host.request("/api/ledger")).text(),
      };
      assert.ok(client.received.length >= 4, "events were captured");
      for (const [where, text] of Object.entries(captured)) {
        assert.ok(!text.includes(key), `the key appears in the ${where}`);
        assert.ok(!text.includes(key.slice(6, 22)), `part of the key appears in the ${where}`);
      }
    } finally {
      client.close();
      await client.closed;
      await server.shutdown();
    }
  });
}
