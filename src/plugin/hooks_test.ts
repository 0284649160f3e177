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
  hooks.on("a", recall, () => {
    called.push("a");
    return undefined; // passes
  });
  hooks.on("b", recall, async (query) => {
    called.push("b");
    return await Promise.resolve([`memory about ${query}`]);
  });
  hooks.on("c", recall, () => {
    called.push("c");
    return ["never"];
  });
  const answer = await hooks.first(recall, "cats");
  assert.deepEqual(answer, { value: ["memory about cats"], plugin: "b" });
  assert.deepEqual(called, ["a", "b"]);
});

Deno.test("first hook: undefined when no handler answers", async () => {
  const { hooks } = setup();
  const reply = defineHook<string, string>("mind.reply", "first");
  hooks.on("a", reply, () => undefined);
  assert.equal(await hooks.first(reply, "hi"), undefined);
});

Deno.test("sequential hook: each handler amends the value in order, pre before post", async () => {
  const { hooks } = setup();
  const prompt = defineHook<string[]>("mind.prompt", "sequential");
  hooks.on("late", prompt, (parts) => [...parts, "late"], { order: "post" });
  hooks.on("one", prompt, (parts) => [...parts, "one"]);
  hooks.on("keeps", prompt, () => undefined);
  hooks.on("early", prompt, async (parts) => await Promise.resolve([...parts, "early"]), {
    order: "pre",
  });
  hooks.on("two", prompt, (parts) => [...parts, "two"]);
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
  hooks.on("waits", turnDone, async ({ turn }) => {
    await gate.promise;
    seen.push(`waits:${turn}`);
  });
  hooks.on("opens", turnDone, ({ turn }) => {
    seen.push(`opens:${turn}`);
    gate.resolve();
  });
  const outcome = await hooks.parallel(turnDone, { turn: 7 });
  assert.deepEqual(outcome.failures, []);
  assert.deepEqual(seen, ["opens:7", "waits:7"]);
});

Deno.test("parallel hook: one failure is recorded, logged and does not stop the others", async () => {
  const { hooks, records } = setup();
  const tick = defineHook<number>("kernel.tick", "parallel");
  const seen: string[] = [];
  hooks.on("ok_before", tick, () => void seen.push("ok_before"));
  hooks.on("broken", tick, () => {
    throw new Error("disk on fire");
  });
  hooks.on("ok_after", tick, async () => void seen.push(await Promise.resolve("ok_after")));
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
  hooks.on("gdil", reply, () => Promise.reject(new Error("no roadmap")));
  await assert.rejects(() => hooks.first(reply, "hi"), (error: unknown) => {
    assert.ok(error instanceof PluginError);
    assert.equal(error.plugin, "gdil");
    assert.equal(error.hook, "mind.reply");
    assert.ok(error.cause instanceof Error && error.cause.message === "no roadmap");
    return true;
  });
  const prompt = defineHook<string>("mind.prompt", "sequential");
  hooks.on("psyche_purpose", prompt, () => {
    throw new TypeError("bad fragment");
  });
  await assert.rejects(
    () => hooks.sequential(prompt, "x"),
    /\[plugin psyche_purpose\] Hook "mind.prompt" failed: bad fragment/,
  );
});

Deno.test("a hook name keeps the kind it was first used with", () => {
  const { hooks } = setup();
  hooks.on("a", defineHook<string>("mind.prompt", "sequential"), (value) => value);
  assert.throws(
    () => hooks.on("b", defineHook<string>("mind.prompt", "parallel"), () => {}),
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
  hooks.on("a", hook, (_arg, context) => {
    seen = context;
  });
  await hooks.parallel(hook, 1, { signal: controller.signal });
  assert.equal(seen?.hook, "kernel.probe");
  assert.equal(seen?.signal, controller.signal);
});
