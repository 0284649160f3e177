/**
 * Traces (spec/server.md §13, §16 item 21): with `OTEL_DENO=true` and a
 * local OTLP/HTTP sink, one turn delivers spans for the request, the
 * reply's `llm.mind` call and the turn with its stages; without it nothing
 * arrives. The sink is a plain server in this test.
 */
import assert from "node:assert/strict";
import { spawnServer } from "@synth/testing";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { fakeEnv } from "../llm/helpers.ts";

interface Span {
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
}

/** An OTLP/HTTP JSON sink collecting span names. */
function startSink() {
  const spans: Span[] = [];
  let requests = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    requests++;
    const body = await request.text();
    if (new URL(request.url).pathname === "/v1/traces") {
      const data = JSON.parse(body);
      for (const resource of data.resourceSpans ?? []) {
        for (const scope of resource.scopeSpans ?? []) spans.push(...(scope.spans ?? []));
      }
    }
    return Response.json({});
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    spans,
    get requests() {
      return requests;
    },
    stop: () => server.shutdown(),
  };
}

async function oneTurn(env: Record<string, string>) {
  await using fake = await startFakeLlm();
  await using server = await spawnServer({ env: { ...fakeEnv(fake, ["openai"]), ...env } });
  const response = await fetch(`${server.url}/api/chat`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: "Hello there" }),
  });
  assert.equal(response.status, 200);
  await response.body?.cancel();
  // Spans are exported in batches; stopping the server flushes them.
  await server.stop("SIGTERM");
}

Deno.test("with OTEL_DENO=true one turn delivers spans for the request, llm.mind and the turn's stages; without it nothing leaves", async () => {
  const sink = startSink();
  try {
    await oneTurn({
      OTEL_DENO: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "synth-test",
    });
    const names = sink.spans.map((span) => span.name);
    const llm = sink.spans.find((span) => span.name === "llm.mind");
    assert.ok(llm, `llm.mind among ${[...new Set(names)].join(", ")}`);
    const attributes = Object.fromEntries(
      (llm.attributes ?? []).map((attribute) => [attribute.key, Object.values(attribute.value)[0]]),
    );
    assert.equal(attributes["gen_ai.system"], "openai");
    assert.ok(names.includes("turn"));
    assert.ok(names.includes("turn.reply"), "a child span per stage");
    const serverSpans = sink.spans.filter((span) => span.kind === 2);
    assert.ok(
      serverSpans.some((span) =>
        (span.attributes ?? []).some((attribute) =>
          attribute.key === "http.request.method" &&
          Object.values(attribute.value)[0] === "POST"
        )
      ),
      "Deno's own span for the POST request",
    );
    assert.ok(!JSON.stringify(sink.spans).includes("Hello there"), "no content in spans");

    const before = sink.requests;
    await oneTurn({ OTEL_EXPORTER_OTLP_ENDPOINT: sink.url });
    assert.equal(sink.requests, before, "nothing arrives without OTEL_DENO");
  } finally {
    await sink.stop();
  }
});
