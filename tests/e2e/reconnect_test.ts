/**
 * Reconnecting in the browser (spec/dashboard.md §8 item 9): every socket
 * is dropped and upgrades are refused for 2 s; meanwhile a project step is
 * triggered over REST; the status bar shows "reconnecting"; the reconnect
 * `hello` carries `resume.last_seq`; the step's events appear exactly once
 * and in order. And a real server restart on the same data and port: the
 * page reconnects by itself and loses no message.
 */
import assert from "node:assert/strict";
import type { Page, WebSocketRoute } from "playwright-core";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { answer, api, turnEnd } from "../projects/helpers.ts";
import { E2E, e2eServer, openPage, screenshot } from "./helpers.ts";
import { makeTestDir, type TestHost } from "@synth/testing";

/**
 * Routes the page's WebSockets through the test: frames are recorded (the page's after `rewrite`),
 * and `dropAll` closes every open socket and refuses upgrades for a while.
 */
async function proxySockets(page: Page, rewrite: (frame: string) => string = (frame) => frame) {
  let refuseUntil = 0;
  const fromPage: string[] = [];
  const fromServer: string[] = [];
  const open: Array<{ page: WebSocketRoute; server: WebSocketRoute }> = [];
  await page.routeWebSocket(/\/ws$/, (socket) => {
    if (Date.now() < refuseUntil) {
      void socket.close({ code: 1013, reason: "try again later" });
      return;
    }
    const server = socket.connectToServer();
    socket.onMessage((message) => {
      const frame = rewrite(String(message));
      fromPage.push(frame);
      server.send(frame);
    });
    server.onMessage((message) => {
      fromServer.push(String(message));
      socket.send(message);
    });
    open.push({ page: socket, server });
  });
  return {
    fromPage,
    fromServer,
    async dropAll(refuseMs: number) {
      refuseUntil = Date.now() + refuseMs;
      for (const pair of open.splice(0)) {
        await pair.page.close({ code: 1001, reason: "going away" });
        await pair.server.close();
      }
    },
  };
}

const done = answer({
  output: "Done.",
  explanation: "",
  questions: [],
  taskProgress: 1,
  blockers: [],
});

Deno.test(
  "the page reconnects after a drop, resumes from its last seq and shows the missed events once",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    fake.script({ execute: [done] });
    const { host, url } = await e2eServer(fake);
    const created = await api(host, "POST", "/api/projects", { template_id: "web-app" });
    const id = created.body.project.id as string;
    const skipped = await api(host, "POST", `/api/projects/${id}/input`, { intent: "skip" });
    await turnEnd(host, skipped.body.turn_id);

    const session = await openPage("about:blank");
    const { page } = session;
    // The socket goes through the test: frames are recorded, and the test can drop it.
    const sockets = await proxySockets(page);
    const { fromPage, fromServer } = sockets;
    try {
      await page.goto(`${url}/projects/${id}`);
      await page.getByRole("heading", { name: "Web Application" }).waitFor();
      await page.locator("[data-state=online]").waitFor();
      await page.getByRole("tab", { name: "Events" }).click();
      await page.locator("sm-project-events li[data-type=plan\\.accepted]").waitFor();

      // Drop every socket and refuse upgrades for 2 s.
      await sockets.dropAll(2_000);
      await page.locator("[data-state=reconnecting]").waitFor();
      // The model's last state is not shown as if it were still known.
      await page.locator("sm-status-bar").getByText("Model: unknown (server not reachable)")
        .waitFor();
      await screenshot(page, "reconnecting-1280");

      // A step while the page is away.
      const step = await api(host, "POST", `/api/projects/${id}/input`, { intent: "continue" });
      assert.equal((await turnEnd(host, step.body.turn_id)).status, "completed");

      await page.locator("[data-state=online]").waitFor({ timeout: 20_000 });
      const hellos = fromPage.map((text) => JSON.parse(text)).filter((message) =>
        message.type === "hello"
      );
      assert.ok(hellos.length >= 2, "the page said hello again");
      const resume = hellos.at(-1)!.data.resume as
        | { session_id: string; last_seq: number }
        | undefined;
      assert.ok(
        resume && resume.last_seq > 0,
        `the reconnect hello resumes: ${JSON.stringify(hellos.at(-1))}`,
      );
      const welcome = fromServer.map((text) => JSON.parse(text)).filter((message) =>
        message.type === "welcome"
      )
        .at(-1)!;
      assert.equal(welcome.data.resumed, true, "the server resumed the session");

      const completed = page.locator("sm-project-events li[data-type=task\\.completed]");
      await completed.first().waitFor();
      assert.equal(await completed.count(), 1, "the missed task.completed appears exactly once");
      const seqs = (await page.locator("sm-project-events li[data-seq]").evaluateAll((items) =>
        items.map((item) =>
          Number(item.getAttribute("data-seq"))
        )
      )) as number[];
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => b - a),
        "newest first, in order",
      );
      assert.equal(new Set(seqs).size, seqs.length, "no event twice");
      session.check();
    } finally {
      await session.close();
      await host.close();
    }
  },
);

Deno.test(
  "across a server restart the page reconnects by itself and keeps every message once",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    fake.script({
      reply: [{ reply: { text: "Before the restart." } }, {
        reply: { text: "After the restart." },
      }],
    });
    const dataDir = await makeTestDir("synth-e2e-restart-");
    let second: { host: TestHost; url: string } | null = null;
    const first = await e2eServer(fake, { dataDir });
    const port = Number(new URL(first.url).port);
    const session = await openPage(`${first.url}/chat`);
    const { page } = session;
    const replies = page.locator("article.assistant[data-status=completed] sm-markdown p");
    try {
      await page.getByRole("heading", { name: "Chat" }).waitFor();
      await page.locator("[data-state=online]").waitFor();
      await page.getByRole("textbox", { name: "Message" }).fill("one");
      await page.keyboard.press("Enter");
      await replies.filter({ hasText: "Before the restart." }).waitFor();

      await first.host.close();
      await page.locator("[data-state=reconnecting], [data-state=offline]").first().waitFor();
      second = await e2eServer(fake, { dataDir, port });
      await page.locator("[data-state=online]").waitFor({ timeout: 30_000 });

      await page.getByRole("textbox", { name: "Message" }).fill("two");
      await page.keyboard.press("Enter");
      await replies.filter({ hasText: "After the restart." }).waitFor();
      assert.deepEqual(await replies.allTextContents(), [
        "Before the restart.",
        "After the restart.",
      ]);
      const mine = await page.locator("div.bubble.user pre").allTextContents();
      assert.deepEqual(mine, ["one", "two"]);
      session.check();
    } finally {
      await session.close();
      await second?.host.close();
      await first.host.close();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
);

Deno.test(
  "after a new session the chat reads its thread again: a reply that finished while the page was away shows whole",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    fake.script({
      reply: [{ reply: { text: "Before the drop." } }, { reply: { text: "While you were away." } }],
    });
    const { host, url } = await e2eServer(fake);
    const session = await openPage("about:blank");
    const { page } = session;
    // The server forgets the session (as after a restart): every hello starts a new one.
    const sockets = await proxySockets(page, (frame) => {
      const message = JSON.parse(frame);
      if (message.type === "hello") delete message.data.resume;
      return JSON.stringify(message);
    });
    const replies = page.locator("article.assistant[data-status=completed] sm-markdown p");
    try {
      await page.goto(`${url}/chat`);
      await page.locator("[data-state=online]").waitFor();
      await page.getByRole("textbox", { name: "Message" }).fill("one");
      await page.keyboard.press("Enter");
      await replies.filter({ hasText: "Before the drop." }).waitFor();
      const threadId = new URL(page.url()).pathname.split("/").at(-1)!;

      await sockets.dropAll(2_000);
      await page.locator("[data-state=reconnecting]").waitFor();
      // A turn in the same thread while the page is away (another tab, the API).
      const away = await api(host, "POST", `/api/threads/${threadId}/turns`, { content: "two" });
      assert.equal(away.status, 202, JSON.stringify(away.body));
      assert.equal((await turnEnd(host, away.body.turn_id)).status, "completed");

      await page.locator("[data-state=online]").waitFor({ timeout: 20_000 });
      await replies.filter({ hasText: "While you were away." }).waitFor({ timeout: 10_000 });
      assert.deepEqual(await replies.allTextContents(), [
        "Before the drop.",
        "While you were away.",
      ]);
      assert.deepEqual(await page.locator("div.bubble.user pre").allTextContents(), [
        "one",
        "two",
      ]);
      session.check();
    } finally {
      await session.close();
      await host.close();
    }
  },
);
