/**
 * A malformed chunk followed by valid ones (spec/llm.md §10 item 12): every
 * provider ends the stream with an error instead of skipping the bad chunk
 * and streaming on with text missing. `ollama@0.6.4` would skip a bad NDJSON
 * line and `console.warn` its raw text; the adapter checks the lines first.
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { checkedNdjson } from "../../src/llm/adapters/ollama.ts";
import { ask, chatRequests, drain, gateway, llmHost, textOf } from "./helpers.ts";

/** Runs `body` with `console.warn` and `console.error` recorded instead of written. */
async function capturingConsole<T>(body: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = [];
  const { warn, error } = console;
  // deno-lint-ignore no-console
  console.warn = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  // deno-lint-ignore no-console
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    return { value: await body(), lines };
  } finally {
    // deno-lint-ignore no-console
    console.warn = warn;
    // deno-lint-ignore no-console
    console.error = error;
  }
}

const CASES = [
  ["anthropic", "json"],
  ["openai", "json"],
  ["ollama", "json"],
  ["ollama", "framing"],
] as const;

for (const [service, kind] of CASES) {
  Deno.test(`${service}: a ${kind}-malformed chunk followed by valid chunks ends with LLM_STREAM_INTERRUPTED, nothing skipped, nothing on the console`, async () => {
    await using fake = await startFakeLlm({
      scenes: [{
        reply: { text: ["kept ", "after-the-bad-chunk ", "tail"] },
        fault: { malformed: kind, resume: true },
      }],
    });
    await using host = await llmHost(fake, { chain: [service] });
    const { value: events, lines } = await capturingConsole(() =>
      drain(gateway(host).chat(ask("hello")))
    );
    const last = events.at(-1);
    assert.ok(last?.type === "error", `ended with ${JSON.stringify(last)}`);
    assert.equal(last.error.code, "LLM_STREAM_INTERRUPTED");
    assert.equal(last.error.partial, true);
    assert.equal(textOf(events), "kept ", "no text after the bad chunk");
    assert.deepEqual(lines, [], "the SDK wrote nothing to the console (only our redacting logger)");
    assert.equal(chatRequests(fake).length, 1, "not retried after output");
    const [row] = (await gateway(host).ledger.list({ limit: 1 })).items;
    assert.equal(row!.error_code, "LLM_STREAM_INTERRUPTED");
  });
}

for (const service of ["anthropic", "openai"] as const) {
  Deno.test(`${service}: an SSE line that is no field is ignored, as the SSE standard says; the reply is whole`, async () => {
    await using fake = await startFakeLlm({
      scenes: [{
        reply: { text: ["kept ", "after-the-bad-line ", "tail"] },
        fault: { malformed: "framing", resume: true },
      }],
    });
    await using host = await llmHost(fake, { chain: [service] });
    const { value: events, lines } = await capturingConsole(() =>
      drain(gateway(host).chat(ask("hello")))
    );
    assert.equal(events.at(-1)?.type, "stop");
    assert.equal(textOf(events), "kept after-the-bad-line tail", "no garbage in the text");
    assert.deepEqual(lines, []);
  });
}

Deno.test("Ollama: the line check passes lines split across chunks and a last line without a newline", async () => {
  const lines = [
    { message: { content: "a" }, done: false },
    { message: { content: "b" }, done: false },
    { message: { content: "" }, done: true, done_reason: "stop" },
  ].map((line) => JSON.stringify(line));
  const wire = lines.join("\n\n"); // blank lines between, none at the end
  const pieces = [wire.slice(0, 7), wire.slice(7, 40), wire.slice(40)];
  const response = checkedNdjson(
    new Response(ReadableStream.from(pieces.map((piece) => new TextEncoder().encode(piece))), {
      headers: { "content-type": "application/x-ndjson" },
    }),
  );
  assert.deepEqual((await response.text()).split("\n").filter(Boolean), lines);
  // A character split across chunks, then a chunk of whole lines passed on as it came.
  const bytes = new TextEncoder().encode('{"c":"é"}\n{"c":"ü"}\n');
  const split = bytes.indexOf(0xc3) + 1; // between the two bytes of "é"
  const after = bytes.indexOf(0x0a) + 1;
  const unicode = checkedNdjson(
    new Response(
      ReadableStream.from([bytes.slice(0, split), bytes.slice(split, after), bytes.slice(after)]),
      { headers: { "content-type": "application/x-ndjson" } },
    ),
  );
  assert.equal(await unicode.text(), '{"c":"é"}\n{"c":"ü"}\n');
  const broken = checkedNdjson(
    new Response(`${lines[0]}\n{"message": \n${lines[1]}\n`, {
      headers: { "content-type": "application/x-ndjson" },
    }),
  );
  const reader = broken.body!.getReader();
  assert.equal(new TextDecoder().decode((await reader.read()).value), `${lines[0]}\n`);
  await assert.rejects(() => reader.read(), /NDJSON line 2 is not JSON \(12 characters\)/);
});
