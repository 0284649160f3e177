import assert from "node:assert/strict";
import { createMemoryLogger } from "../testing/memory_log.ts";
import { PLUGIN_ERROR_CODES, PluginError } from "./errors.ts";
import { createHookRegistry, defineHook } from "./hooks.ts";

function setup() {
  const { log, records } = createMemoryLogger();
  return { hooks: createHookRegistry({ log }), records };
}

Deno.test("first hook: the first answer wins and later handlers are not called", async () => {
  const { hooks } = setup();
  const recall = defineHook<string, string[]>("memory.recall", "first");
  const called: string[] = [];
  hooks.on(recall, () => {
    called.push("a");
    return undefined; // passes
  }, { plugin: "a" });
  hooks.on(recall, async (query) => {
    called.push("b");
    return await Promise.resolve([`memory about ${query}`]);
  }, { plugin: "b" });
  hooks.on(recall, () => {
    called.push("c");
    return ["never"];
  }, { plugin: "c" });
  const answer = await hooks.first(recall, "cats");
  assert.deepEqual(answer, { value: ["memory about cats"], plugin: "b" });
  assert.deepEqual(called, ["a", "b"]);
});

Deno.test("first hook: undefined when no handler answers", async () => {
  const { hooks } = setup();
  const reply = defineHook<string, string>("mind.reply", "first");
  hooks.on(reply, () => undefined, { plugin: "a" });
  assert.equal(await hooks.first(reply, "hi"), undefined);
});

Deno.test("sequential hook: each handler amends the value in order, pre before post", async () => {
  const { hooks } = setup();
  const prompt = defineHook<string[]>("mind.prompt", "sequential");
  hooks.on(prompt, (parts) => [...parts, "late"], { plugin: "late", order: "post" });
  hooks.on(prompt, (parts) => [...parts, "one"], { plugin: "one" });
  hooks.on(prompt, () => undefined, { plugin: "keeps" });
  hooks.on(prompt, async (parts) => await Promise.resolve([...parts, "early"]), {
    plugin: "early",
    order: "pre",
  });
  hooks.on(prompt, (parts) => [...parts, "two"], { plugin: "two" });
  assert.deepEqual(await hooks.sequential(prompt, ["base"]), [
    "base",
    "early",
    "one",
    "two",
    "late",
  ]);
  assert.deepEqual(hooks.handlersOf(prompt), ["early", "one", "keeps", "two", "late"]);
});

Deno.test("parallel hook: all handlers run at once and observe the argument", async () => {
  const { hooks } = setup();
  const turnDone = defineHook<{ turn: number }>("mind.turn_done", "parallel");
  const gate = Promise.withResolvers<void>();
  const seen: string[] = [];
  // "waits" can only finish if "opens" runs while "waits" is still pending.
  hooks.on(turnDone, async ({ turn }) => {
    await gate.promise;
    seen.push(`waits:${turn}`);
  }, { plugin: "waits" });
  hooks.on(turnDone, ({ turn }) => {
    seen.push(`opens:${turn}`);
    gate.resolve();
  }, { plugin: "opens" });
  const outcome = await hooks.parallel(turnDone, { turn: 7 });
  assert.deepEqual(outcome.failures, []);
  assert.deepEqual(seen, ["opens:7", "waits:7"]);
});

Deno.test("parallel hook: one failure is recorded, logged and does not stop the others", async () => {
  const { hooks, records } = setup();
  const tick = defineHook<number>("kernel.tick", "parallel");
  const seen: string[] = [];
  hooks.on(tick, () => void seen.push("ok_before"), { plugin: "ok_before" });
  hooks.on(tick, () => {
    throw new Error("disk on fire");
  }, { plugin: "broken" });
  hooks.on(tick, async () => void seen.push(await Promise.resolve("ok_after")), {
    plugin: "ok_after",
  });
  const { failures } = await hooks.parallel(tick, 1);
  assert.deepEqual(seen.sort(), ["ok_after", "ok_before"]);
  assert.equal(failures.length, 1);
  const [failure] = failures;
  assert.ok(failure instanceof PluginError);
  assert.equal(failure.code, PLUGIN_ERROR_CODES.HOOK_FAILED);
  assert.equal(failure.plugin, "broken");
  assert.equal(failure.hook, "kernel.tick");
  assert.match(failure.message, /^\[plugin broken\] Hook "kernel.tick" failed: disk on fire$/);
  const logged = records.find((record) => record.msg === "hook handler failed");
  assert.equal(logged?.plugin, "broken");
  assert.equal(logged?.level, "error");
});

Deno.test("first and sequential hooks: a throwing handler fails the call, wrapped with plugin and hook", async () => {
  const { hooks } = setup();
  const reply = defineHook<string, string>("mind.reply", "first");
  hooks.on(reply, () => Promise.reject(new Error("no roadmap")), { plugin: "gdil" });
  await assert.rejects(() => hooks.first(reply, "hi"), (error: unknown) => {
    assert.ok(error instanceof PluginError);
    assert.equal(error.plugin, "gdil");
    assert.equal(error.hook, "mind.reply");
    assert.ok(error.cause instanceof Error && error.cause.message === "no roadmap");
    return true;
  });
  const prompt = defineHook<string>("mind.prompt", "sequential");
  hooks.on(prompt, () => {
    throw new TypeError("bad fragment");
  }, { plugin: "psyche_purpose" });
  await assert.rejects(
    () => hooks.sequential(prompt, "x"),
    /\[plugin psyche_purpose\] Hook "mind.prompt" failed: bad fragment/,
  );
});

Deno.test("a hook name keeps the kind it was first used with", () => {
  const { hooks } = setup();
  hooks.on(defineHook<string>("mind.prompt", "sequential"), (value) => value, { plugin: "a" });
  assert.throws(
    () => hooks.on(defineHook<string>("mind.prompt", "parallel"), () => {}, { plugin: "b" }),
    /Cannot use hook "mind.prompt" as "parallel": it is declared as "sequential"/,
  );
});

Deno.test("defineHook() rejects a name that is not <area>.<point>", () => {
  assert.throws(() => defineHook<string>("Prompt", "sequential"), TypeError);
  assert.throws(() => defineHook<string>("mind", "sequential"), TypeError);
});

Deno.test("handlers receive the hook name and the caller's signal", async () => {
  const { hooks } = setup();
  const hook = defineHook<number>("kernel.probe", "parallel");
  const controller = new AbortController();
  let seen: { hook: string; signal: AbortSignal } | undefined;
  hooks.on(hook, (_arg, context) => {
    seen = context;
  }, { plugin: "a" });
  await hooks.parallel(hook, 1, { signal: controller.signal });
  assert.equal(seen?.hook, "kernel.probe");
  assert.equal(seen?.signal, controller.signal);
});
