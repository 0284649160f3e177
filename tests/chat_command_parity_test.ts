/**
 * Every slash command answers the same through the terminal chat (its
 * in-process dispatcher) and through `POST /api/chat` (spec/mind.md §15,
 * §17 item 36): two copies of one data directory, one driven by
 * `deno task chat`, the other over HTTP, given the same lines.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createTestCliIo, createTestHost, FakeClock, makeTestDir, runCli } from "@synth/testing";
import { BUILTIN_COMMANDS, BUILTIN_PLUGINS } from "../src/builtin_plugins.ts";
import { type FakeLlm, startFakeLlm } from "./fakes/llm/mod.ts";
import { fakeEnv } from "./llm/helpers.ts";
import { chat } from "./mind/helpers.ts";
import type { MemoryApi } from "../plugins/memory/mod.ts";

/**
 * The lines sent for each command the dispatcher lists, in order: answers, refusals and usage
 * errors. A command missing here fails the test.
 */
const CASES: Record<string, string[]> = {
  help: ["/help", "/help purpose", "/help nosuch"],
  state: ["/state"],
  dream: ["/dream"],
  reflect: ["/reflect"],
  purpose: [
    "/purpose",
    "/purpose history",
    "/purpose diff 1",
    "/purpose rollback 1",
    "/purpose rewrite --force",
    "/purpose history",
    "/purpose bogus",
  ],
  feedback: ["/feedback good", "/feedback bad", "/feedback meh"],
  tools: ["/tools"],
  tool: ['/tool calculator {"expression": "6 * 7"}', "/tool nosuch {}"],
  projects: ["/projects", "/projects all"],
  project: ["/project", "/project status"],
  templates: ["/templates", "/templates data science"],
  template: ["/template bug-fix", "/template nosuch", "/template"],
  export: ["/export", "/export mind"],
  reset: ["/reset"],
  // Last: the thread is gone after it.
  forget: ["/forget <memory>", "/forget <memory>", "/forget thread"],
};

/** Names no command has: the unknown-command answer with and without suggestions. */
const UNKNOWN = ["/stat", "/nope"];

const SCRIPT = {
  forecast: [{
    reply: {
      text: JSON.stringify([
        { text: "Which tests run first?", probability: 0.5, intent: "question" },
        { text: "Thanks, that helps.", probability: 0.3, intent: "thank" },
        { text: "Write the checklist.", probability: 0.2, intent: "request" },
      ]),
    },
  }],
  reflection: [{
    reply: {
      text: JSON.stringify({
        coherence: 0.8,
        alignment: 0.7,
        issues: [],
        instructions: ["Keep answers short."],
        insight: null,
        selfStatement: "I am learning to be brief.",
      }),
    },
  }],
  narrative: [{
    reply: {
      text:
        "I am Synth, a collaborator who tries to understand before acting. I listen for what people mean as well as what they say, I say so when I am unsure, and I learn from the conversations I have. I want the people I work with to leave clearer than they came, and I keep my promises small.",
    },
  }],
};

const START = Date.UTC(2026, 10, 25, 12);

/** Environment of both sides: the fake for every provider, no Ollama probe. */
function envOf(fake: FakeLlm): Record<string, string> {
  return {
    ...fakeEnv(fake, ["openai"]),
    SYNTH_LLM_AUTODETECT_OLLAMA: "false",
    SYNTH_LLM_TEST_HEADERS: "true",
  };
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyDir(join(from, entry.name), join(to, entry.name));
    else if (entry.isFile) await Deno.copyFile(join(from, entry.name), join(to, entry.name));
  }
}

/**
 * Ids (`<prefix>_<ULID>`) numbered in order of first appearance: each side makes its own ids from
 * its own random source, in the same order.
 */
function numberIds(text: string): string {
  const seen = new Map<string, string>();
  return text.replace(/\b([a-z]{2,8})_[0-9A-HJKMNP-TV-Z]{26}\b/g, (id, prefix: string) => {
    if (!seen.has(id)) seen.set(id, `${prefix}_#${seen.size + 1}`);
    return seen.get(id)!;
  });
}

Deno.test("every command answers in the terminal chat exactly as over HTTP, from the same state", async () => {
  const root = await makeTestDir("synth-command-parity-");
  const dirs = { cli: join(root, "cli"), http: join(root, "http") };
  try {
    // The same state on both sides: one thread with a turn and its forecast.
    let threadId: string;
    let memoryId: string;
    let later: number;
    {
      await using fake = await startFakeLlm();
      fake.script(SCRIPT);
      await using host = await createTestHost({
        plugins: BUILTIN_PLUGINS,
        env: envOf(fake),
        dataDir: dirs.cli,
        clock: new FakeClock({ start: START }),
      });
      const reply = await chat(host, "Plan the release of the web app");
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      threadId = reply.body.thread_id as string;
      await host.kernel.mind.scheduler.idle();
      const memory = host.api<MemoryApi>("memory");
      memoryId = (await memory.semantic.add({
        ownerUserId: "local",
        text: "The release train leaves on Thursdays.",
        importance: 0.8,
        source: "user",
      })).uid;
      await memory.flushEmbeddings();
      // Every command the dispatcher lists (to an administrator) has its lines here.
      const listed = (await host.kernel.commands.list("admin")).map((spec) => spec.name);
      assert.deepEqual(
        Object.keys(CASES).toSorted(),
        listed.toSorted(),
        "each command of the dispatcher has its lines in CASES",
      );
      later = host.clock.now() + 60_000;
    }
    await copyDir(dirs.cli, dirs.http);
    const lines = [...Object.values(CASES).flat(), ...UNKNOWN].map((line) =>
      line.replace("<memory>", memoryId)
    );
    // Forget the thread last: the lines before it run inside the thread.
    lines.push(...lines.splice(lines.indexOf("/forget thread"), 1));

    // The terminal chat, in this process, continuing the thread.
    await using cliFake = await startFakeLlm();
    cliFake.script(SCRIPT);
    const cli = createTestCliIo({
      env: { ...envOf(cliFake), SYNTH_DATA_DIR: dirs.cli },
      plugins: BUILTIN_PLUGINS,
      commands: BUILTIN_COMMANDS,
      clock: new FakeClock({ start: later }),
      input: [...lines, "/quit"],
    });
    assert.equal(await runCli(["chat", "--thread", threadId], cli.io), 0, cli.stderr());

    // HTTP, on the copy.
    await using httpFake = await startFakeLlm();
    httpFake.script(SCRIPT);
    const answers: string[] = [];
    {
      await using host = await createTestHost({
        plugins: BUILTIN_PLUGINS,
        env: envOf(httpFake),
        dataDir: dirs.http,
        clock: new FakeClock({ start: later }),
      });
      let thread: string | null = threadId;
      for (const line of lines) {
        const { status, body } = await chat(host, line, thread);
        assert.equal(status, 200, `${line}: ${JSON.stringify(body)}`);
        answers.push(body.response as string);
        if (line === "/forget thread") thread = null;
      }
    }

    // The terminal shows, after its greeting, each answer HTTP gave, in order, and nothing else.
    const out = cli.stdout();
    const shown = out.slice(out.indexOf("\n") + 1);
    const expected = answers.map((answer) => `${answer}\n`).join("");
    const normalise = (text: string) =>
      numberIds(text.replaceAll(dirs.cli, "<data>").replaceAll(dirs.http, "<data>"));
    assert.equal(normalise(shown), normalise(expected));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
