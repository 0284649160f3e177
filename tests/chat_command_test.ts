/**
 * `deno task chat` in this process and against a running server; commands
 * answer the same through the terminal and HTTP (spec/mind.md §17 item 36).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { createTestCliIo, makeTestDir, runCli, spawnServer } from "@synth/testing";
import { BUILTIN_COMMANDS, BUILTIN_PLUGINS } from "../src/builtin_plugins.ts";
import { type FakeLlm, startFakeLlm } from "./fakes/llm/mod.ts";
import { fakeEnv } from "./llm/helpers.ts";

/**
 * Commands whose answer does not move between two asks (no clock, no background job in it): the
 * terminal must show exactly what HTTP answers, including refusals and suggestions.
 */
const SAME_AS_HTTP = [
  "/help",
  "/help purpose",
  "/purpose",
  "/purpose history",
  "/purpose diff 1",
  "/purpose rollback 9",
  "/templates",
  "/tools",
  "/projects",
  "/stat",
];

/** A terminal chat in this process (no server holds `dataDir`) talking to the fake. */
function localChat(fake: FakeLlm, dataDir: string, input: string[]) {
  return createTestCliIo({
    env: {
      ...fakeEnv(fake, ["openai"]),
      SYNTH_DATA_DIR: dataDir,
      SYNTH_LLM_AUTODETECT_OLLAMA: "false",
      SYNTH_LLM_TEST_HEADERS: "true",
    },
    plugins: BUILTIN_PLUGINS,
    commands: BUILTIN_COMMANDS,
    input,
  });
}

Deno.test("leaving the terminal chat in this process lets the last turn's background jobs finish", async () => {
  await using fake = await startFakeLlm();
  const dataDir = await makeTestDir("synth-chat-jobs-");
  try {
    const cli = localChat(fake, dataDir, ["Hi, I am Ada", "/quit"]);
    assert.equal(await runCli(["chat"], cli.io), 0, cli.stderr());
    assert.match(cli.stdout(), /Finishing 1 background job first…\n/);
    const db = new DatabaseSync(`${dataDir}/synth.db`, { readOnly: true });
    try {
      const jobs = db.prepare("SELECT module, status, reason FROM mind_jobs").all()
        .map((row) => ({ ...row }));
      assert.ok(jobs.length > 0);
      assert.deepEqual(
        jobs.filter((job) => job.status !== "done"),
        [],
        "none left queued, or skipped for the shutdown",
      );
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the terminal chat talks to the mind in this process, streams replies and runs commands", async () => {
  await using fake = await startFakeLlm();
  fake.script({ reply: [{ reply: { text: ["Hello ", "Ada."] } }] });
  const dataDir = await makeTestDir("synth-chat-");
  try {
    const cli = localChat(fake, dataDir, [
      "Hi, I am Ada",
      "/state",
      "/help",
      "/nope",
      "/quit",
      "never read",
    ]);
    const code = await runCli(["chat"], cli.io);
    assert.equal(code, 0, cli.stderr());
    const out = cli.stdout();
    assert.match(
      out,
      /^Synth Mind chat — in this process, profile empathetic, openai\/gpt-5\.4-mini\./,
    );
    assert.match(out, /synth> Hello Ada\.\n/);
    assert.match(out, /mood \w+ \(p /);
    // Every module's state on a line of its own, then the thread's.
    assert.match(out, /\n {2}psyche_assurance: [^\n]*tag_missing_rate=/);
    assert.match(out, /\n {2}psyche_calibration: [^\n]*state=\w+/);
    assert.match(out, /\nthis thread:\n {2}psyche_assurance: open_concerns=0 items\n/);
    // /help keeps its column: a usage too long for it has its description on the next line.
    assert.match(out, /\n\/state {29}[a-z]/);
    assert.match(out, /\n\/project <description> \| new [^\n]*\n {35}start and drive a project\n/);
    assert.match(out, /Unknown command \/nope/);
    assert.match(out, /Thread thr_\w+ — continue it with: deno task chat --thread thr_\w+/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a refused command or a failed message is reported and the terminal chat goes on", async () => {
  await using fake = await startFakeLlm();
  // The first message fails (400 is not retried), so its thread has no reply to rate.
  fake.script({
    reply: [
      { fault: { status: 400, message: "bad request" } },
      { reply: { text: "Second answer." } },
    ],
  });
  const dataDir = await makeTestDir("synth-chat-");
  try {
    const cli = localChat(fake, dataDir, [
      "First message",
      "/feedback good",
      "/state",
      "x".repeat(40_000),
      "/forget thread",
      "Another message",
      "/quit",
    ]);
    const code = await runCli(["chat"], cli.io);
    assert.equal(code, 0, cli.stderr());
    const out = cli.stdout();
    assert.match(out, /This thread has no reply to give feedback on/);
    assert.match(out, /mood \w+ \(p /, "/state still ran after the refusal");
    assert.match(
      out,
      /synth> \[VALIDATION_FAILED: The message has 40000 characters, over the limit of \d+\]\n/,
    );
    assert.match(out, /This thread and what was derived from it are forgotten\./);
    // After /forget thread the next message starts a new thread instead of failing on the old one.
    assert.match(out, /synth> Second answer\.\n/);
    assert.doesNotMatch(out, /No such thread/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("--thread with a thread that does not exist stops with a message, before any chat", async () => {
  await using fake = await startFakeLlm();
  const dataDir = await makeTestDir("synth-chat-");
  try {
    const cli = localChat(fake, dataDir, ["Hello"]);
    const code = await runCli(["chat", "--thread", "thr_nope"], cli.io);
    assert.equal(code, 64);
    assert.match(cli.stderr(), /No thread thr_nope of yours to continue/);
    assert.equal(cli.stdout(), "");
    assert.ok(!fake.requests().some((request) => request.headers["x-synth-purpose"] === "reply"));
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("with a server running, the chat goes through it, and commands answer as over HTTP", async () => {
  await using fake = await startFakeLlm();
  const dataDir = await makeTestDir("synth-chat-remote-");
  try {
    await using server = await spawnServer({ dataDir, env: fakeEnv(fake, ["openai"]) });
    const url = await Deno.readTextFile(`${dataDir}/synth.url`);
    assert.equal(url, server.url);
    // A session whose only message is refused leaves no empty thread behind.
    const refused = createTestCliIo({
      env: { SYNTH_DATA_DIR: dataDir },
      plugins: BUILTIN_PLUGINS,
      commands: BUILTIN_COMMANDS,
      input: ["x".repeat(40_000)],
    });
    assert.equal(await runCli(["chat"], refused.io), 0, refused.stderr());
    assert.match(refused.stdout(), /\n\[The request is invalid at content/);
    assert.doesNotMatch(refused.stdout(), /continue it with/);
    const none = await (await fetch(`${server.url}/api/threads`)).json();
    assert.deepEqual(none.items, []);
    const cli = createTestCliIo({
      env: { SYNTH_DATA_DIR: dataDir },
      plugins: BUILTIN_PLUGINS,
      commands: BUILTIN_COMMANDS,
      input: ["How are you?", ...SAME_AS_HTTP],
    });
    const code = await runCli(["chat"], cli.io);
    assert.equal(code, 0, cli.stderr());
    const out = cli.stdout();
    assert.match(
      out,
      new RegExp(`connected to the server at ${server.url.replaceAll(".", "\\.")}`),
    );
    assert.match(out, /synth> fake:gpt-5\.4-mini:How are you\?/);
    for (const command of SAME_AS_HTTP) {
      const response = await fetch(`${server.url}/api/chat`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message: command }),
      });
      const body = await response.json();
      assert.ok(
        out.includes(body.response + "\n"),
        `${command}: the terminal shows what HTTP answers`,
      );
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("against a server that needs sign-in, the chat says how to get in, then works with SYNTH_API_KEY", async () => {
  await using fake = await startFakeLlm();
  const dataDir = await makeTestDir("synth-chat-auth-");
  try {
    await using server = await spawnServer({
      dataDir,
      env: {
        ...fakeEnv(fake, ["openai"]),
        SYNTH_AUTH_ENABLED: "true",
        SYNTH_AUTH_PASSWORD_SCRYPT_LOG_N: "14",
      },
    });
    const chatWith = (env: Record<string, string>) =>
      createTestCliIo({
        env: { SYNTH_DATA_DIR: dataDir, ...env },
        plugins: BUILTIN_PLUGINS,
        commands: BUILTIN_COMMANDS,
        input: ["Hello there"],
      });
    const anonymous = chatWith({});
    assert.equal(await runCli(["chat"], anonymous.io), 1);
    assert.match(anonymous.stderr(), /requires sign-in: create an API key .* set SYNTH_API_KEY/);

    const setup = server.stdout.map((line) => JSON.parse(line)).find((record) =>
      record.setup_token
    );
    // At warn: a log kept at that level still shows the only way in.
    assert.equal(setup?.level, "warn");
    const token = setup?.setup_token;
    const post = async (path: string, body: unknown, bearer?: string) =>
      await (await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
        body: JSON.stringify(body),
      })).json();
    const admin = await post("/api/auth/setup", {
      setup_token: token,
      username: "ada",
      password: "correct horse battery",
    });
    const key = await post("/api/keys", { name: "terminal" }, admin.access_token);
    const signedIn = chatWith({ SYNTH_API_KEY: key.key });
    assert.equal(await runCli(["chat"], signedIn.io), 0, signedIn.stderr());
    assert.match(signedIn.stdout(), /synth> fake:gpt-5\.4-mini:Hello there/);
    assert.ok(!signedIn.stderr().includes(key.key), "the key is never printed");
    // The key's user continues their own thread.
    const own = /continue it with: deno task chat --thread (thr_\w+)/.exec(signedIn.stdout())![1]!;
    const again = createTestCliIo({
      env: { SYNTH_DATA_DIR: dataDir, SYNTH_API_KEY: key.key },
      plugins: BUILTIN_PLUGINS,
      commands: BUILTIN_COMMANDS,
      input: ["Hello again"],
    });
    assert.equal(await runCli(["chat", "--thread", own], again.io), 0, again.stderr());
    assert.match(again.stdout(), /synth> fake:gpt-5\.4-mini:Hello again/);

    // An administrator reads another user's thread but cannot write in it: no continuing it.
    await post("/api/users", {
      username: "bob",
      password: "another long password",
      role: "operator",
    }, admin.access_token);
    const bob = await post("/api/auth/login", {
      username: "bob",
      password: "another long password",
    });
    const bobs = await post("/api/threads", {}, bob.access_token);
    const readable = await fetch(`${server.url}/api/threads/${bobs.id}`, {
      headers: { authorization: `Bearer ${key.key}` },
    });
    assert.equal(readable.status, 200, "the administrator reads it");
    await readable.body?.cancel();
    const intoBobs = createTestCliIo({
      env: { SYNTH_DATA_DIR: dataDir, SYNTH_API_KEY: key.key },
      plugins: BUILTIN_PLUGINS,
      commands: BUILTIN_COMMANDS,
      input: ["Hello Bob's thread"],
    });
    assert.equal(await runCli(["chat", "--thread", bobs.id], intoBobs.io), 64);
    assert.match(intoBobs.stderr(), new RegExp(`No thread ${bobs.id} of yours to continue`));
    assert.equal(intoBobs.stdout(), "");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("the kernel's warnings wait until the reply being written has ended", async () => {
  await using fake = await startFakeLlm();
  fake.script({ reply: [{ reply: { text: ["Hello ", "there ", "Ada."] } }] });
  const dataDir = await makeTestDir("synth-chat-");
  try {
    const cli = localChat(fake, dataDir, ["Hi, I am Ada", "/quit"]);
    // One terminal: what goes to stdout and stderr, in the order written.
    const terminal: string[] = [];
    const io = {
      ...cli.io,
      stdout: (text: string) => void terminal.push(text),
      stderr: (text: string) => void terminal.push(`<stderr>${text}`),
    };
    assert.equal(await runCli(["chat"], io), 0, terminal.join(""));
    const out = terminal.join("");
    // The fake's model has no price: the gateway warns while the reply streams.
    assert.match(out, /<stderr>[^\n]*no price for this model/);
    assert.match(out, /synth> Hello there Ada\.\n/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("chat --help explains the modes; --user chats as a signed-in user, whose threads it can continue", async () => {
  await using fake = await startFakeLlm();
  fake.script({ reply: [{ reply: { text: "First." }, times: 3 }] });
  const dataDir = await makeTestDir("synth-chat-user-");
  const env = (extra: Record<string, string> = {}) => ({
    ...fakeEnv(fake, ["openai"]),
    SYNTH_DATA_DIR: dataDir,
    SYNTH_LLM_AUTODETECT_OLLAMA: "false",
    SYNTH_AUTH_ENABLED: "true",
    SYNTH_LLM_TEST_HEADERS: "true",
    SYNTH_AUTH_PASSWORD_SCRYPT_LOG_N: "14",
    ...extra,
  });
  const cliWith = (input: string[]) =>
    createTestCliIo({ env: env(), plugins: BUILTIN_PLUGINS, commands: BUILTIN_COMMANDS, input });
  try {
    const help = cliWith([]);
    assert.equal(await runCli(["chat", "--help"], help.io), 0);
    assert.match(
      help.stdout(),
      /^usage: deno task chat \[--thread THREAD_ID\] \[--user USERNAME\]/,
    );
    assert.match(help.stdout(), /--user USERNAME +without a server: chat as this user/);

    const create = createTestCliIo({ env: env(), input: ["a long enough password"] });
    assert.equal(
      await runCli(["admin", "create-user", "ada", "--role", "operator"], create.io),
      0,
      create.stderr(),
    );
    const first = cliWith(["Hello as Ada", "/quit"]);
    assert.equal(await runCli(["chat", "--user", "Ada"], first.io), 0, first.stderr());
    assert.match(first.stdout(), /^Synth Mind chat — in this process as ada, profile/);
    // The hint names the user again: without --user the thread is not the caller's to continue.
    const threadId = /continue it with: deno task chat --thread (thr_\w+) --user Ada\n/.exec(
      first.stdout(),
    )![1]!;

    // Ada's thread is not the local administrator's ...
    const local = cliWith(["never sent"]);
    assert.equal(await runCli(["chat", "--thread", threadId], local.io), 64);
    assert.match(local.stderr(), /No thread thr_\w+ of yours.*continues with --user USERNAME/);
    // ... and Ada continues it.
    const again = cliWith(["Still Ada", "/quit"]);
    assert.equal(
      await runCli(["chat", "--user", "ada", "--thread", threadId], again.io),
      0,
      again.stderr(),
    );
    assert.match(
      again.stdout(),
      new RegExp(`continue it with: deno task chat --thread ${threadId} --user ada\n`),
    );
    const replies = fake.requests().filter((request) =>
      request.headers["x-synth-purpose"] === "reply"
    );
    const last = replies.at(-1)!.body as { messages: Array<{ role: string; content: string }> };
    assert.deepEqual(
      last.messages.filter((message) => message.role === "user").map((message) => message.content),
      ["Hello as Ada", "Still Ada"],
    );

    const nobody = cliWith([]);
    assert.equal(await runCli(["chat", "--user", "zed"], nobody.io), 64);
    assert.match(nobody.stderr(), /No user zed/);
    // A viewer may not chat over HTTP; not here either.
    const viewer = createTestCliIo({ env: env(), input: ["another long password"] });
    assert.equal(await runCli(["admin", "create-user", "vic", "--role", "viewer"], viewer.io), 0);
    const refused = cliWith(["never sent"]);
    assert.equal(await runCli(["chat", "--user", "vic"], refused.io), 64);
    assert.match(refused.stderr(), /vic is a viewer: chatting needs the operator role/);

    // Without --user, sign-in on: the local administrator's thread, which no signed-in user sees.
    const anonymous = cliWith(["Hello from nobody in particular", "/quit"]);
    assert.equal(await runCli(["chat"], anonymous.io), 0, anonymous.stderr());
    assert.match(
      anonymous.stderr(),
      /without --user this chat is the local administrator's: its threads show to no signed-in user.*--user USERNAME/,
    );
    assert.match(
      anonymous.stdout(),
      /continue it with: deno task chat --thread thr_\w+ \(with no server running: it is the local administrator's\)\n/,
    );
    assert.doesNotMatch(first.stderr(), /local administrator/, "not said to a user");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
