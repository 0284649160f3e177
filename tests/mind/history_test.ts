/**
 * `GET /api/state/history` (spec/server.md §4.2; the Mind page's charts):
 * the affect after each change and the flow estimate after each turn,
 * oldest first, filtered by field and time; bad queries are 400 naming the
 * field; points older than `mind.stateHistoryDays` are pruned.
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chat, mindHost } from "./helpers.ts";

const DAY = 86_400_000;

Deno.test("state history: affect and calibration points after turns, oldest first, by field and time; bad queries name the field; old points are pruned", async () => {
  await using fake = await startFakeLlm();
  await using host = await mindHost(fake, { config: { mind: { stateHistoryDays: 2 } } });
  const get = async (query = "") => {
    const response = await host.request(`/api/state/history${query}`);
    return { status: response.status, body: await response.json() };
  };
  /** A chat turn, resolved once the turn and its background work have completed. */
  const turn = async (text: string) => {
    const completed = new Promise<void>((resolve) => {
      const stop = host.kernel.bus.subscribe("mind.turn.completed", () => {
        stop();
        resolve();
      });
    });
    const answer = await chat(host, text);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    await completed;
    // Background jobs (forecasts) end before the clock moves, so no model call sees time jump.
    await host.kernel.mind.scheduler.idle();
  };
  const start = host.clock.now();
  await turn("This is useless, you keep getting it wrong and I am angry.");
  await host.clock.tick(60_000);
  await turn("Thank you, that was really helpful, I love it!");

  const all = (await get()).body.items as Array<
    { at: string; affect?: { p: number }; calibration?: { ema: number | null } }
  >;
  const affect = all.filter((point) => point.affect);
  const calibration = all.filter((point) => point.calibration);
  assert.ok(affect.length >= 2, `affect points: ${JSON.stringify(all)}`);
  assert.ok(calibration.length >= 2, `one flow estimate per turn: ${JSON.stringify(all)}`);
  assert.ok(calibration.every((point) => typeof point.calibration!.ema === "number"));
  const times = all.map((point) => Date.parse(point.at));
  assert.deepEqual(times, [...times].sort((a, b) => a - b), "oldest first");
  assert.ok(times[0]! >= start);
  // The last affect point is the state the API reports now.
  const state = await (await host.request("/api/state")).json();
  assert.equal(affect.at(-1)!.affect!.p, state.mind?.affect?.p ?? state.affect?.p);

  const onlyAffect = (await get("?fields=affect")).body.items as Array<Record<string, unknown>>;
  assert.equal(onlyAffect.length, affect.length);
  assert.ok(onlyAffect.every((point) => "affect" in point && !("calibration" in point)));
  const later = (await get(`?since=${new Date(host.clock.now() + 1_000).toISOString()}`)).body;
  assert.deepEqual(later.items, []);

  for (const query of ["?fields=affect,mood", "?since=yesterday", "?limit=0"]) {
    const bad = await get(query);
    assert.equal(bad.status, 400, query);
    assert.equal(bad.body.error.code, "VALIDATION_FAILED");
    assert.match(JSON.stringify(bad.body.error), /fields|since|limit/);
  }
  // A reversed range is refused, not answered with an empty page.
  const reversed = await get("?since=2030-01-01T00:00:00Z&until=2020-01-01T00:00:00Z");
  assert.equal(reversed.status, 400);
  assert.equal(reversed.body.error.field, "until");
  assert.match(reversed.body.error.message, /must not be before since/);

  // A point older than mind.stateHistoryDays (2) goes at the next change an hour or more after
  // the last pruning; the recent ones stay.
  await host.kernel.store.db.insertInto("mind_state_history")
    .values({ at: host.clock.now() - 3 * DAY, p: 0, a: 0, d: 0 }).execute();
  await host.clock.tick(61 * 60_000);
  await turn("Hello again.");
  const since = `?since=${new Date(host.clock.now() - 4 * DAY).toISOString()}&fields=affect`;
  const kept = (await get(since)).body.items as Array<{ at: string }>;
  assert.ok(kept.length > affect.length, "the earlier points and the new turn's");
  assert.ok(
    kept.every((point) => Date.parse(point.at) >= host.clock.now() - 2 * DAY),
    "the three-day-old point is gone",
  );
});
