/**
 * `/metrics` (spec/server.md §12, §16 item 20): after traffic and a turn
 * the exposition parses (with `promtool check metrics` where installed),
 * has `+Inf` buckets, route templates, language model, stage and
 * psychological series; unknown paths add no series; without
 * `metrics.public` it needs the scrape token or a credential.
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chat, mindHost } from "../mind/helpers.ts";
import { authHost, call, setupAdmin, userWithRole } from "../security/helpers.ts";
import { afterResponse } from "../../src/clock.ts";
import { createMetrics } from "../../src/telemetry/metrics.ts";
import { NO_SOURCES } from "./sources.ts";

/** Series names with their label sets, one per line. */
function seriesOf(text: string): string[] {
  return text.split("\n").filter((line) => line && !line.startsWith("#"))
    .map((line) => line.slice(0, line.lastIndexOf(" ")));
}

async function promtool(text: string): Promise<{ ok: boolean; output: string } | null> {
  try {
    const child = new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(text));
    await writer.close();
    const { code, stdout, stderr } = await child.output();
    const output = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    return { ok: code === 0, output };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

Deno.test("after traffic and a turn, /metrics has route templates, +Inf buckets, LLM, stage and psychological series; unknown paths add none", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const turn = await chat(host, "Hello there, how are you today?");
  assert.equal(turn.status, 200);
  await host.kernel.mind.scheduler.idle();
  await (await host.request(`/api/threads/${turn.body.thread_id}`)).body?.cancel();
  await (await host.request("/api/nothing-0")).body?.cancel();
  await (await host.request("/api/auth/status")).body?.cancel();
  const before = await (await host.request("/metrics")).text();
  for (let i = 1; i <= 1_000; i++) {
    await (await host.request(`/api/nothing-${i}/deeper?x=${i}`)).body?.cancel();
  }
  const response = await host.request("/metrics");
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  const text = await response.text();

  assert.match(
    text,
    /synth_http_requests_total\{method="POST",route="\/api\/chat",status="200"\} 1/,
  );
  assert.match(
    text,
    /synth_http_requests_total\{method="GET",route="\/api\/threads\/:id",status="200"\} 1/,
  );
  assert.match(
    text,
    /synth_http_request_duration_seconds_bucket\{le="\+Inf",method="POST",route="\/api\/chat"\} 1/,
  );
  assert.match(
    text,
    /synth_http_requests_total\{method="GET",route="unmatched",status="404"\} 1001/,
  );
  assert.ok(!text.includes("nothing-"), "no path in any label");
  assert.deepEqual(
    seriesOf(text).filter((series) => series.startsWith("synth_http")).sort(),
    seriesOf(before).filter((series) => series.startsWith("synth_http")).concat(
      // The /metrics request itself appears once it has been counted.
      seriesOf(text).filter((series) =>
        series.startsWith("synth_http") && series.includes('route="/metrics"') &&
        !seriesOf(before).includes(series)
      ),
    ).sort(),
    "1,000 unknown paths add no series",
  );
  assert.match(
    text,
    /synth_llm_requests_total\{provider="openai",module="mind",outcome="ok"\} \d+/,
  );
  assert.match(
    text,
    /synth_llm_tokens_total\{provider="openai",module="mind",direction="out"\} \d+/,
  );
  assert.match(text, /synth_turns_total\{outcome="completed"\} 1/);
  assert.match(text, /synth_turn_stage_duration_seconds_count\{stage="reply"\} 1/);
  assert.match(text, /synth_affect\{dimension="pleasure"\} -?\d/);
  assert.match(text, /synth_mood\{label="\w+"\} 1/);
  assert.match(text, /synth_emotional_valence -?\d/);
  assert.match(text, /synth_ready [01]/);
  assert.match(text, /synth_health_check_status\{check="database"\} 1/);
  assert.match(text, /synth_info\{version="[^"]+",deno="2\.9\.6"\} 1/);
  assert.match(text, /process_resident_memory_bytes \d+/);
  assert.match(text, /synth_memory_items\{kind="\w+"\} \d+/);
  assert.match(text, /synth_db_size_bytes [1-9]\d*/);
  assert.match(text, /synth_llm_provider_up\{provider="openai"\} 1/);
  assert.match(text, /synth_budget_used_tokens\{module="psyche_dreaming",window="day"\} [1-9]\d*/);
  assert.match(text, /synth_budget_limit_tokens\{module="psyche_dreaming",window="day"\} [1-9]\d*/);

  const checked = await promtool(text);
  if (checked === null) {
    // deno-lint-ignore no-console
    console.log(
      "promtool is not installed here: the exposition was checked by the assertions only",
    );
  } else {
    assert.ok(checked.ok, checked.output);
  }
});

Deno.test("/metrics needs the scrape token or a credential unless metrics.public", async () => {
  await using host = await authHost({ metrics: { token: "scrape-token-0123456789" } });
  const admin = await setupAdmin(host);
  const viewer = await userWithRole(host, admin.access_token as string, "vera", "viewer");
  const anonymous = await call(host, "GET", "/metrics");
  assert.equal(anonymous.status, 401);
  assert.equal((anonymous.body.error as Record<string, unknown>).code, "AUTH_REQUIRED");
  assert.equal(
    (await call(host, "GET", "/metrics", { token: "wrong-token-0123456789" })).status,
    401,
  );
  // A request refused before its route ran is still counted under that route's template, the
  // one that would have answered (/api/forecasts/calibration is also /api/forecasts/:id).
  assert.equal((await call(host, "GET", "/api/threads")).status, 401);
  assert.equal((await call(host, "GET", "/api/forecasts/calibration")).status, 401);
  const scraped = await host.request("/metrics", {
    headers: { authorization: "Bearer scrape-token-0123456789" },
  });
  assert.equal(scraped.status, 200);
  const exposition = await scraped.text();
  assert.match(exposition, /synth_auth_attempts_total\{kind="setup",result="ok"\} 1/);
  assert.match(
    exposition,
    /synth_http_requests_total\{method="GET",route="\/api\/threads",status="401"\} 1/,
  );
  assert.match(
    exposition,
    /synth_http_requests_total\{method="GET",route="\/api\/forecasts\/calibration",status="401"\} 1/,
  );
  const byViewer = await host.request("/metrics", {
    headers: { authorization: `Bearer ${viewer.access_token}` },
  });
  assert.equal(byViewer.status, 200);
  await byViewer.body?.cancel();

  await using open = await authHost({ metrics: { public: true } });
  const response = await open.request("/metrics");
  assert.equal(response.status, 200);
  await response.body?.cancel();
});

Deno.test("the psychological gauges show the restored state from the start", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  const state = await (await host.request("/api/state")).json();
  const text = await host.kernel.metrics.render();
  assert.match(text, new RegExp(`synth_emotional_valence ${state.valence}\\b`));
  assert.match(text, new RegExp(`synth_flow_difficulty ${state.difficulty}\\b`));
  assert.match(text, new RegExp(`synth_mood\\{label="${state.mood_tags[0]}"\\} 1`));
  assert.match(text, /synth_affect\{dimension="arousal"\} -?\d/);
});

Deno.test("LLM retries and breaker states are series with fixed, low-cardinality labels", async () => {
  const breakers: Array<{ provider: string; level: 0 | 1 | 2 }> = [
    { provider: "anthropic", level: 2 },
    { provider: "ollama", level: 1 },
  ];
  const metrics = createMetrics({
    sources: { ...NO_SOURCES, breakers: () => breakers },
  });
  try {
    metrics.llmRetry("openai", "rate_limited");
    metrics.llmRetry("openai", "rate_limited");
    metrics.llmRetry("openai", "upstream said: overloaded, try later"); // never a free-text label
    let text = await metrics.render();
    assert.match(text, /# TYPE synth_llm_retries_total counter/);
    assert.match(text, /synth_llm_retries_total\{provider="openai",reason="rate_limited"\} 2\n/);
    assert.match(text, /synth_llm_retries_total\{provider="openai",reason="other"\} 1\n/);
    assert.ok(!text.includes("try later"));
    assert.match(text, /# TYPE synth_llm_breaker_state gauge/);
    assert.match(text, /synth_llm_breaker_state\{provider="anthropic"\} 2\n/);
    assert.match(text, /synth_llm_breaker_state\{provider="ollama"\} 1\n/);
    // Read at every scrape: a provider that recovered shows 0, a dropped one disappears.
    breakers.splice(0, 2, { provider: "anthropic", level: 0 });
    text = await metrics.render();
    assert.match(text, /synth_llm_breaker_state\{provider="anthropic"\} 0\n/);
    assert.doesNotMatch(text, /synth_llm_breaker_state\{provider="ollama"\}/);
  } finally {
    metrics.close();
  }
});

Deno.test("forgetting a thread with an open concern brings synth_concerns_open down at once, not at the next turn", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake);
  fake.sceneFirst({
    match: { purpose: "reply" },
    reply: {
      text:
        "I think it might possibly work if you restart it, but maybe not. Perhaps try the staging copy first. <confidence>0.2</confidence>",
    },
  });
  const first = await chat(host, "How do I restart the payment service safely?");
  const threadId = first.body.thread_id as string;
  /** The gauge once the watchers have read the state (they do so in a later task). */
  const gauge = async (expected: number) => {
    const pattern = new RegExp(`^synth_concerns_open ${expected}$`, "m");
    for (let tries = 0; tries < 50; tries++) {
      const text = await host.kernel.metrics.render();
      if (pattern.test(text)) return text;
      await afterResponse();
    }
    return await host.kernel.metrics.render();
  };
  assert.match(await gauge(1), /^synth_concerns_open 1$/m);
  const causes: string[] = [];
  host.kernel.bus.subscribe("mind.state", (event) => void causes.push(event.data.cause));
  const deleted = await host.request(`/api/threads/${threadId}`, { method: "DELETE" });
  assert.equal(deleted.status, 204);
  assert.deepEqual(causes, ["forget"]);
  assert.match(await gauge(0), /^synth_concerns_open 0$/m);
});
