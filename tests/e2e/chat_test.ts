/**
 * The dashboard's Chat page in headless Chromium against the real server
 * (spec/dashboard.md §8 items 1, 4, 6, 10, 11, 14): streamed tokens show
 * before the reply ends, finished replies render markdown, model HTML never
 * becomes markup, "Why this reply" shows the influence record, the page
 * works with the keyboard alone, fits 375 px, and runs under the CSP with
 * no page errors and no serious accessibility violations.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import type { MemoryApi } from "../../plugins/memory/mod.ts";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { axe, E2E, e2eServer, fitsTheWindow, openPage, screenshot } from "./helpers.ts";

/** The forecast the fake gives for the next user message (the dreaming plugin's JSON). */
const FORECAST = JSON.stringify([
  { text: "How do I deploy it?", probability: 0.6, intent: "question" },
  { text: "Thanks, that helps.", probability: 0.3, intent: "thank" },
  { text: "That is wrong.", probability: 0.1, intent: "correct" },
]);

/** A thread title longer than a narrow window is wide. */
const LONG_TITLE = "Planning the migration of the orders database to the new cluster, step by step";

/** One section of the open "Why this reply" panel, by its heading. */
function panelSection(page: Page, heading: string) {
  return page.getByRole("dialog", { name: "Why this reply" }).locator("section", {
    has: page.getByRole("heading", { name: heading }),
  });
}

Deno.test(
  "assets are hashed and cached immutable; documents are no-cache with the strict CSP",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    const { host, url } = await e2eServer(fake);
    try {
      const page = await fetch(`${url}/chat`);
      assert.equal(page.status, 200);
      assert.equal(page.headers.get("cache-control"), "no-cache");
      assert.match(
        page.headers.get("content-security-policy") ?? "",
        /script-src 'self'; style-src 'self'/,
      );
      const html = await page.text();
      const assets = [...html.matchAll(/\/assets\/([a-z]+\.[0-9a-f]{10}\.(?:js|css))/g)].map((m) =>
        m[1]!
      );
      assert.equal(assets.length, 2, html);
      for (const name of assets) {
        const asset = await fetch(`${url}/assets/${name}`);
        assert.equal(asset.status, 200);
        assert.equal(asset.headers.get("cache-control"), "public, max-age=31536000, immutable");
        const bytes = (await asset.arrayBuffer()).byteLength;
        if (name.endsWith(".js")) assert.ok(bytes <= 300 * 1024, `the bundle is ${bytes} bytes`);
      }
      const missing = await fetch(`${url}/assets/app.0000000000.js`);
      assert.equal(missing.status, 404);
      await missing.body?.cancel();
      assert.doesNotMatch(html, /<script>|<style>|style=/, "no inline script or style");
    } finally {
      await host.close();
    }
  },
);

Deno.test(
  "a streamed reply shows partial text, then markdown; model HTML never becomes markup; Why this reply shows the record",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    const tokens = Array.from({ length: 40 }, (_, i) => (i === 0 ? "**bold** start " : `w${i} `));
    fake.script({
      reply: [
        { reply: { text: tokens }, timing: { chunkDelayMs: 25 } },
        {
          reply: {
            text:
              'Look: <img src=x onerror="window.__pwned=1"> and <script>window.__pwned=2</script> done.',
          },
        },
      ],
    });
    const { host, url } = await e2eServer(fake);
    const session = await openPage(`${url}/`);
    const { page } = session;
    try {
      await page.getByRole("heading", { name: "Chat" }).waitFor();
      await page.getByRole("textbox", { name: "Message" }).fill("Hello there");
      await page.getByRole("button", { name: "Send" }).click();
      // Partial text while the streaming indicator is still on.
      const streaming = page.locator("article.assistant[data-status=streaming]");
      await streaming.waitFor();
      await page.waitForFunction(() => {
        // deno-lint-ignore no-explicit-any
        const app = (globalThis as any).document.querySelector("sm-app");
        const chat = app?.shadowRoot?.querySelector("page-chat");
        const bubble = chat?.shadowRoot?.querySelector(
          "article.assistant[data-status=streaming] .streaming-text",
        );
        return (bubble?.textContent ?? "").includes("w3");
      });
      assert.equal(await streaming.count(), 1, "still streaming after partial text arrived");
      const done = page.locator("article.assistant[data-status=completed]");
      await done.waitFor();
      assert.equal(await done.locator("strong").first().textContent(), "bold");

      await page.getByRole("textbox", { name: "Message" }).fill("Show me HTML");
      await page.keyboard.press("Enter");
      await page.locator("article.assistant[data-status=completed]").nth(1).waitFor();
      const hostile = page.locator("article.assistant[data-status=completed]").nth(1);
      assert.match((await hostile.locator("sm-markdown p").first().textContent()) ?? "", /Look:/);
      assert.equal(await hostile.locator("img").count(), 0);
      assert.equal(await hostile.locator("script").count(), 0);
      assert.equal(
        await page.evaluate(() => (globalThis as { __pwned?: number }).__pwned),
        undefined,
      );

      await page.getByRole("button", { name: "Why this reply" }).first().click();
      const panel = page.getByRole("dialog", { name: "Why this reply" });
      await panel.waitFor();
      for (
        const heading of [
          "Prompt fragments",
          "Recalled memories",
          "Affect before → after",
          "Forecast vs your message",
          "Assurance and generation",
        ]
      ) {
        await panel.getByRole("heading", { name: heading }).waitFor();
      }
      await axe(page, "the influence panel");
      assert.match((await panel.textContent()) ?? "", /persona/);
      assert.match((await panel.textContent()) ?? "", /Pleasure: /);
      // How the temperature was made, and no bare "tone" label without a rule.
      assert.match(
        (await panel.textContent()) ?? "",
        /temperature \d\.\d\d \(0\.\d\d base [+−]\d\.\d\d affect [+−]\d\.\d\d calibration/,
      );
      assert.doesNotMatch((await panel.textContent()) ?? "", /tone,|tone$/m);
      assert.match(
        (await panel.textContent()) ?? "",
        /Not recorded for this turn/,
        "the first turn has no forecast",
      );
      await page.keyboard.press("Escape");
      await panel.waitFor({ state: "hidden" });

      await axe(page, "chat");
      await screenshot(page, "chat-1280");
      await page.setViewportSize({ width: 375, height: 812 });
      await fitsTheWindow(page, "chat at 375 px");
      await screenshot(page, "chat-375");
      // The bottom nav: four items plus More, which opens the rest.
      const nav = page.getByRole("navigation", { name: "Main" });
      assert.equal(await nav.getByRole("link", { name: "Timeline" }).isVisible(), false);
      await nav.getByRole("button", { name: "More" }).click();
      await nav.getByRole("link", { name: "Timeline" }).click();
      await page.getByRole("heading", { name: "Timeline" }).waitFor();
      await nav.getByRole("link", { name: "Chat" }).click();
      await page.getByRole("heading", { name: "Chat" }).waitFor();
      session.check();
    } finally {
      await session.close();
      await host.close();
    }
  },
);

Deno.test(
  "Why this reply on a later turn lists recalled memories with scores and the forecast against the message",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    fake.script({
      reply: [
        { reply: { text: "Happy to help with the release." } },
        { reply: { text: "Run the deploy script." } },
      ],
      forecast: [{ reply: { text: FORECAST }, times: 10 }],
    });
    const { host, url } = await e2eServer(fake);
    // A memory the second message recalls (its words: deploy).
    const created = await host.request("/api/memories", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "The deploy script lives in ops/deploy.sh and needs the VPN" }),
    });
    assert.equal(created.status, 201);
    const memoryId = (await created.json()).id as string;
    await host.api<MemoryApi>("memory").flushEmbeddings();
    // The forecast job runs after the first turn completes; this settles when it has finished.
    const jobs: string[] = [];
    let unsubscribe = () => {};
    const forecastDone = new Promise<void>((resolve, reject) => {
      unsubscribe = host.kernel.bus.subscribe("mind.job", (event) => {
        if (event.data.kind !== "forecast") return;
        jobs.push(event.data.status);
        if (event.data.status === "done") resolve();
        if (event.data.status === "failed" || event.data.status === "skipped") {
          reject(new Error(`the forecast job ${event.data.status}: ${event.data.reason}`));
        }
      });
    });
    forecastDone.catch(() => {}); // Awaited after the first turn; a failure before that is not unhandled.
    const threads = new Set<string>();
    const unsubscribeTurns = host.kernel.bus.subscribe("mind.turn.completed", (event) => {
      threads.add(event.data.threadId);
    });
    const session = await openPage(`${url}/chat`);
    const { page } = session;
    try {
      await page.getByRole("heading", { name: "Chat" }).waitFor();
      const composer = page.getByRole("textbox", { name: "Message" });
      await composer.fill("Help me with the release of the web app");
      await page.getByRole("button", { name: "Send" }).click();
      await page.locator("article.assistant[data-status=completed]").waitFor();
      await forecastDone;
      await host.kernel.mind.scheduler.idle();
      assert.deepEqual(jobs, ["queued", "running", "done"]);

      // The same thread: the forecast made after the first turn meets this message.
      await composer.fill("How do I deploy it?");
      await page.getByRole("button", { name: "Send" }).click();
      await page.locator("article.assistant[data-status=completed]").nth(1).waitFor();
      assert.equal(threads.size, 1, "both turns in one thread");

      const panel = page.getByRole("dialog", { name: "Why this reply" });
      await page.getByRole("button", { name: "Why this reply" }).nth(1).click();
      await panel.waitFor();
      const memories = panelSection(page, "Recalled memories");
      const recalled = memories.locator("li", {
        has: page.locator(`a[href="/mind/memory?id=${memoryId}"]`),
      });
      await recalled.first().waitFor();
      assert.match((await recalled.first().textContent()) ?? "", /semantic\s+score \d\.\d{3}\b/);
      const forecast = panelSection(page, "Forecast vs your message");
      const forecastText = (await forecast.textContent()) ?? "";
      assert.match(forecastText, /Status: resolved/);
      assert.match(forecastText, /alignment \d\.\d\d/);
      assert.match(forecastText, /surprise \d\.\d\d/);
      const items = forecast.locator("li");
      assert.equal(await items.count(), 3);
      assert.match(
        (await items.nth(0).textContent()) ?? "",
        /How do I deploy it\?\s+p 0\.60, similarity \d\.\d\d/,
      );
      assert.match((await items.nth(1).textContent()) ?? "", /Thanks, that helps\.\s+p 0\.30/);
      assert.match((await items.nth(2).textContent()) ?? "", /That is wrong\.\s+p 0\.10/);
      const affect = (await panelSection(page, "Affect before → after").textContent()) ?? "";
      for (const axis of ["Pleasure", "Arousal", "Dominance"]) {
        assert.match(affect, new RegExp(`${axis}: [+−-]?\\d\\.\\d+ → [+−-]?\\d\\.\\d+`));
      }
      assert.match((await panelSection(page, "Prompt fragments").textContent()) ?? "", /persona/);
      for (
        const heading of [
          "Prompt fragments",
          "Recalled memories",
          "Affect before → after",
          "Forecast vs your message",
        ]
      ) {
        assert.doesNotMatch(
          (await panelSection(page, heading).textContent()) ?? "",
          /Not recorded for this turn/,
          `${heading} is recorded for the second turn`,
        );
      }
      await axe(page, "the influence panel with memories and a forecast");
      await screenshot(page, "chat-why-1280");
      await page.keyboard.press("Escape");
      await panel.waitFor({ state: "hidden" });

      // The first turn had no forecast to meet: that section alone says so.
      await page.getByRole("button", { name: "Why this reply" }).first().click();
      await panel.waitFor();
      await forecast.getByText("Not recorded for this turn").waitFor();
      assert.doesNotMatch(
        (await panelSection(page, "Affect before → after").textContent()) ?? "",
        /Not recorded for this turn/,
      );
      await page.keyboard.press("Escape");
      await panel.waitFor({ state: "hidden" });
      session.check();
    } finally {
      unsubscribe();
      unsubscribeTurns();
      await session.close();
      await host.close();
    }
  },
);

Deno.test(
  "the chat page works with the keyboard alone: skip link, nav, composer, send with Enter",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    fake.script({ reply: [{ reply: { text: "Typed reply." } }] });
    const { host, url } = await e2eServer(fake);
    const session = await openPage(`${url}/chat`);
    const { page } = session;
    try {
      await page.getByRole("heading", { name: "Chat" }).waitFor();
      const focused = async () =>
        await page.evaluate(() => {
          // deno-lint-ignore no-explicit-any
          let node: any = (globalThis as any).document.activeElement;
          while (node?.shadowRoot?.activeElement) node = node.shadowRoot.activeElement;
          return `${node?.tagName?.toLowerCase()}:${
            (node?.textContent ?? "").trim().slice(0, 30)
          }:${node?.id ?? ""}`;
        });
      // Navigation put focus on the page's heading: back to the top, then forward to the composer.
      const back: string[] = [];
      for (let i = 0; i < 20; i++) {
        await page.keyboard.press("Shift+Tab");
        const now = await focused();
        back.push(now);
        if (now.startsWith("a:Skip to content")) break;
      }
      assert.ok(back.at(-1)!.startsWith("a:Skip to content"), back.join(" | "));
      assert.ok(back.some((item) => item.startsWith("a:Mind")), "the nav is reachable");
      const forward: string[] = [];
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press("Tab");
        const now = await focused();
        forward.push(now);
        if (now.startsWith("textarea")) break;
      }
      assert.ok(forward.at(-1)!.startsWith("textarea:"), forward.join(" | "));
      await page.keyboard.type("Hello by keyboard");
      await page.keyboard.press("Enter");
      await page.locator("article.assistant[data-status=completed]").waitFor();
      assert.match(
        (await page.locator("article.assistant sm-markdown p").first().textContent()) ?? "",
        /Typed reply\./,
      );
      // With a draft, Send is the next stop after the composer.
      await page.keyboard.type("and more");
      await page.keyboard.press("Tab");
      assert.match(await focused(), /^button:Send/);
      session.check();
    } finally {
      await session.close();
      await host.close();
    }
  },
);

Deno.test(
  "older threads and earlier messages load on request, beyond the first page of each",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    const { host, url } = await e2eServer(fake);
    const port = host.kernel.mind.conversations!;
    // 55 threads (a page is 50), the newest with 205 user messages (a page is 200).
    for (let i = 0; i < 54; i++) {
      await port.createThread({ ownerUserId: "local", title: `Thread ${i}` });
      await host.clock.tick(1_000);
    }
    // A thread of replies (rendered as markdown after the page itself), opened from the list.
    const replies = await port.createThread({ ownerUserId: "local", title: "Replies" });
    for (let i = 1; i <= 12; i++) {
      await port.addMessage({ threadId: replies.id, role: "user", text: `question ${i}` });
      await port.addMessage({
        threadId: replies.id,
        role: "assistant",
        text: `**Answer ${i}**\n\n- one point\n- another point\n\nA closing line.`,
      });
    }
    await host.clock.tick(1_000);
    const long = await port.createThread({ ownerUserId: "local", title: "Long thread" });
    for (let i = 1; i <= 205; i++) {
      await port.addMessage({ threadId: long.id, role: "user", text: `note ${i}` });
    }
    const session = await openPage(`${url}/chat/${long.id}`);
    const { page } = session;
    try {
      const nav = page.getByRole("navigation", { name: "Threads" });
      await nav.getByRole("link", { name: "Long thread" }).waitFor();
      assert.equal(await nav.getByRole("link", { name: "Thread 0", exact: true }).count(), 0);
      await nav.getByRole("button", { name: "Older threads" }).click();
      await nav.getByRole("link", { name: "Thread 0", exact: true }).waitFor();
      assert.equal(await nav.getByRole("link").count(), 57, "New conversation and 56 threads");
      assert.equal(await nav.getByRole("button", { name: "Older threads" }).count(), 0);

      const log = page.getByRole("log", { name: "Messages" });
      await log.getByText("note 205", { exact: true }).waitFor();
      assert.equal(await log.locator(".bubble.user").count(), 200);
      // A long thread scrolls inside its log: the page itself does not, and the box stays in view.
      const pageScroll = await page.evaluate(() => {
        // deno-lint-ignore no-explicit-any
        const root = (globalThis as any).document.documentElement;
        return root.scrollHeight - root.clientHeight;
      });
      assert.ok(pageScroll <= 0, `the page scrolls by ${pageScroll} px`);
      const box = await page.getByRole("textbox", { name: "Message" }).boundingBox();
      assert.ok(box && box.y + box.height <= 800, `the message box is at ${JSON.stringify(box)}`);
      assert.equal(await log.getByText("note 5", { exact: true }).count(), 0);
      await log.getByRole("button", { name: "Earlier messages" }).click();
      await log.getByText("note 1", { exact: true }).waitFor();
      assert.equal(await log.locator(".bubble.user").count(), 205);
      assert.equal(
        await log.locator(".bubble.user").first().textContent().then((text) => text?.trim()),
        "note 1",
        "the earlier messages come first",
      );
      assert.equal(await log.getByRole("button", { name: "Earlier messages" }).count(), 0);

      // Another thread opened from the list shows its newest messages, above the message box.
      await nav.getByRole("link", { name: "Replies" }).click();
      await log.getByText("Answer 12").waitFor();
      await page.waitForFunction(
        () => {
          // deno-lint-ignore no-explicit-any
          const app = (globalThis as any).document.querySelector("sm-app");
          const box = app?.shadowRoot?.querySelector("page-chat")?.shadowRoot?.querySelector(
            ".log",
          );
          return box && box.scrollHeight > box.clientHeight &&
            box.scrollTop + box.clientHeight >= box.scrollHeight - 2;
        },
        undefined,
        { timeout: 5_000 },
      );
      session.check();
    } finally {
      await session.close();
      await host.close();
    }
  },
);

Deno.test(
  "a thread is named after its first message and can be renamed, archived and deleted from the page, or forgotten with /forget thread",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    fake.script({
      reply: [{ reply: { text: "Sure." } }, { reply: { text: "Noted." } }, {
        reply: { text: "Understood." },
      }],
    });
    const { host, url } = await e2eServer(fake);
    const session = await openPage(`${url}/chat`);
    const { page } = session;
    const nav = page.getByRole("navigation", { name: "Threads" });
    const say = async (text: string, reply: string) => {
      await page.getByRole("textbox", { name: "Message" }).fill(text);
      await page.keyboard.press("Enter");
      await page.locator("article.assistant[data-status=completed]", { hasText: reply }).waitFor();
    };
    try {
      await page.locator("[data-state=online]").waitFor();
      await say("Plan a trip to Lisbon in May", "Sure.");
      await nav.getByRole("link", { name: "Plan a trip to Lisbon in May" }).waitFor();
      const first = new URL(page.url()).pathname;

      await page.getByRole("button", { name: "Rename" }).click();
      const title = page.getByRole("textbox", { name: "Thread title" });
      assert.equal(await title.inputValue(), "Plan a trip to Lisbon in May");
      await title.fill("Lisbon");
      await page.getByRole("button", { name: "Save" }).click();
      await nav.getByRole("link", { name: "Lisbon", exact: true }).waitFor();

      await page.getByRole("button", { name: "Archive" }).click();
      await page.waitForURL(`${url}/chat`);
      await nav.getByRole("link", { name: "Lisbon", exact: true }).waitFor({ state: "detached" });
      const archived = await host.request(`/api/threads/${first.split("/").at(-1)}`);
      assert.equal((await archived.json()).archived, true, "archived, not deleted");
      // Opened by its address, an archived thread offers Restore, which lists it again.
      await page.goto(`${url}${first}`);
      await page.getByRole("button", { name: "Restore" }).click();
      await nav.getByRole("link", { name: "Lisbon", exact: true }).waitFor();
      await page.getByRole("link", { name: "New conversation" }).first().click();
      await page.waitForURL(`${url}/chat`);

      await say("Remember my seat is 12A", "Noted.");
      await nav.getByRole("link", { name: "Remember my seat is 12A" }).waitFor();
      const second = new URL(page.url()).pathname.split("/").at(-1)!;
      await page.getByRole("button", { name: "Delete…" }).click();
      const dialog = page.getByRole("dialog", { name: "Delete “Remember my seat is 12A”?" });
      await dialog.getByRole("checkbox", { name: /Also forget/ }).check();
      await axe(page, "chat delete dialog");
      await dialog.getByRole("button", { name: "Delete", exact: true }).click();
      await page.waitForURL(`${url}/chat`);
      await nav.getByRole("link", { name: "Remember my seat is 12A" }).waitFor({
        state: "detached",
      });
      assert.equal((await host.request(`/api/threads/${second}`)).status, 404);

      // /forget thread in the composer leaves the thread as Delete does, and says it is done.
      await say("My PIN hint is the old street", "Understood.");
      const link = nav.getByRole("link", { name: "My PIN hint is the old street" });
      await link.waitFor();
      const third = new URL(page.url()).pathname.split("/").at(-1)!;
      await page.getByRole("textbox", { name: "Message" }).fill("/forget thread");
      await page.getByRole("button", { name: "Send" }).click();
      await page.waitForURL(`${url}/chat`);
      await link.waitFor({ state: "detached" });
      await page.getByText("This thread and what was derived from it are forgotten.").waitFor();
      assert.equal(await page.locator("article.assistant").count(), 0, "no message left on screen");
      assert.equal((await host.request(`/api/threads/${third}`)).status, 404);
      session.check();
    } finally {
      await session.close();
      await host.close();
    }
  },
);

Deno.test(
  "slash commands in the composer: Enter completes a partial command and sends a full one; the answer keeps its lines; the list closes on send; a refused one says so; /export offers a file",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    const { host, url } = await e2eServer(fake);
    const session = await openPage(`${url}/chat`);
    const { page } = session;
    const composer = page.getByRole("textbox", { name: "Message" });
    const commands = page.getByRole("listbox", { name: "Commands" });
    try {
      await page.locator("[data-state=online]").waitFor();
      await composer.fill("/sta");
      await commands.waitFor();
      await page.keyboard.press("Enter");
      assert.equal(await composer.inputValue(), "/state ", "completed, not sent");
      await commands.waitFor({ state: "hidden" });
      assert.equal(await page.locator("article.assistant").count(), 0);

      await page.keyboard.press("Backspace");
      await commands.waitFor();
      await page.keyboard.press("Enter");
      const answer = page.locator("article.assistant pre.command-output");
      await answer.waitFor();
      const text = (await answer.textContent()) ?? "";
      assert.ok(text.split("\n").length >= 3, `one line per part of the state: ${text}`);
      assert.equal(await composer.inputValue(), "");
      assert.equal(await commands.count(), 0);

      await composer.fill("/he");
      await commands.waitFor();
      await page.getByRole("button", { name: "Send" }).click();
      const refused = page.locator("article.assistant").nth(1);
      await refused.locator("pre.command-output").waitFor();
      assert.equal(await commands.count(), 0, "the list closed when the command was sent");
      // An unknown command is refused: the answer says why, and nothing claims a reply failed.
      assert.match((await refused.locator("pre.command-output").textContent()) ?? "", /\/help/);
      assert.equal(
        (await refused.locator("p.error").textContent())?.trim(),
        "Not done: the command was refused.",
      );
      // The first answer (a command carried out) has no such line.
      assert.equal(await page.locator("article.assistant").first().locator("p.error").count(), 0);

      // /export offers its JSON as a file to keep, not as text in a bubble.
      await composer.fill("/export");
      await commands.waitFor();
      await page.getByRole("button", { name: "Send" }).click();
      const save = page.getByRole("button", { name: /^Download synth-export-.*\.json$/ });
      await save.waitFor();
      assert.match(
        (await page.locator("article.assistant pre.command-output").nth(2).textContent()) ?? "",
        /^The export is ready: [\d.]+ (B|KiB|MiB) of JSON\.$/,
      );
      const [download] = await Promise.all([page.waitForEvent("download"), save.click()]);
      const saved = JSON.parse(await Deno.readTextFile((await download.path())!));
      assert.equal(saved.user_id, "local");
      assert.ok(Array.isArray(saved.threads));
      assert.equal(await commands.count(), 0, "the list closed when /export was sent");
      session.check();
    } finally {
      await session.close();
      await host.close();
    }
  },
);

Deno.test(
  "on a phone, a thread with a long title and long lines fits the window: nothing is cut off; the status bar keeps to two lines",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    const { host, url } = await e2eServer(fake);
    const port = host.kernel.mind.conversations!;
    const thread = await port.createThread({ ownerUserId: "local", title: LONG_TITLE });
    await port.addMessage({
      threadId: thread.id,
      role: "user",
      text: "What do you mean by that, and how would it change the plan for the orders database?",
    });
    await port.addMessage({
      threadId: thread.id,
      role: "assistant",
      text: "It means the **migration** runs in two steps.",
    });
    const session = await openPage(`${url}/chat/${thread.id}`, {
      width: 375,
      height: 812,
      phone: true,
    });
    const { page } = session;
    try {
      await page.getByRole("log", { name: "Messages" }).getByText("two steps").waitFor();
      await fitsTheWindow(page, "chat on a phone with a long thread title");
      // The status bar keeps to two lines (state and model; who and Sign out), not three.
      await page.locator("sm-status-bar [data-state=online]").waitFor();
      const bar = (await page.locator("sm-status-bar").boundingBox())!;
      assert.ok(bar.height <= 72, `the status bar is ${bar.height} px tall at 375 px`);
      await screenshot(page, "chat-phone-long-title");
      session.check();
    } finally {
      await session.close();
      await host.close();
    }
  },
);
