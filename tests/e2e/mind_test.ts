/**
 * The Mind page and the memory browser in headless Chromium against the
 * real server (spec/dashboard.md §8 items 7, 10, 12, 14): P/A/D values and
 * a chart that gains a point on `state.delta`; narrative versions with a
 * word diff as `<ins>`/`<del>`; token spend per module with the budget
 * colours and the words "over budget"; in the memory browser, search,
 * forget after a confirmation and an NDJSON export; the dark tokens under
 * an emulated dark scheme; no page errors, CSP violations or serious axe
 * findings, and no horizontal scroll at 375 px. A page whose chunk cannot
 * be fetched shows its title, the reason and a Reload button.
 */
import assert from "node:assert/strict";
import type { Locator, Page } from "playwright-core";
import { DARK } from "../../web/theme/tokens.ts";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { axe, E2E, e2eServer, fitsTheWindow, openPage, screenshot } from "./helpers.ts";

const FORECAST = JSON.stringify([
  { text: "What about tomorrow?", probability: 0.6, intent: "question" },
  { text: "Thanks, that helps.", probability: 0.4, intent: "thank" },
]);
const NARRATIVE =
  "I am Synth, a collaborator who listens closely before acting. I say so when I am unsure, and I learn from every conversation I have. I want the people I work with to leave with clearer thinking than they came with, and I keep my promises small enough to keep them all.";
/** The rewrite after the reflection: every statement kept, one learned. */
const NARRATIVE_3 = `${NARRATIVE} I have learned that short answers leave people guessing.`;
const REFLECTION = JSON.stringify({
  coherence: 0.8,
  alignment: 0.7,
  issues: ["I answered the weather question too briefly."],
  instructions: ["Ask one clarifying question when a request is vague."],
  insight: "Short answers leave people guessing.",
  selfStatement: "I try to be clear and kind.",
});

/** `fetch` of a JSON route of the server (sign-in is off on the test server). */
async function api(
  url: string,
  path: string,
  method = "GET",
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : {} };
}

/** The affect chart's point count, read through the shadow roots. */
function points(page: Page): Promise<number> {
  return page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const find = (root: any, tag: string): any => {
      for (const element of root.querySelectorAll("*")) {
        if (element.localName === tag) return element;
        if (element.shadowRoot) {
          const found = find(element.shadowRoot, tag);
          if (found) return found;
        }
      }
      return null;
    };
    // deno-lint-ignore no-explicit-any
    const card = find((globalThis as any).document, "sm-affect-card");
    const chart = card?.shadowRoot?.querySelector("sm-timeseries");
    return Number(chart?.shadowRoot?.querySelector("figcaption")?.dataset.points ?? -1);
  });
}

/** Resolves once the affect chart holds more than `count` points. */
async function morePoints(page: Page, count: number): Promise<number> {
  await page.waitForFunction((min) => {
    // deno-lint-ignore no-explicit-any
    const find = (root: any, tag: string): any => {
      for (const element of root.querySelectorAll("*")) {
        if (element.localName === tag) return element;
        if (element.shadowRoot) {
          const found = find(element.shadowRoot, tag);
          if (found) return found;
        }
      }
      return null;
    };
    // deno-lint-ignore no-explicit-any
    const card = find((globalThis as any).document, "sm-affect-card");
    const chart = card?.shadowRoot?.querySelector("sm-timeseries");
    return Number(chart?.shadowRoot?.querySelector("figcaption")?.dataset.points ?? -1) > min;
  }, count);
  return await points(page);
}

/** A computed style property of the first element a locator finds. */
function computed(locator: ReturnType<Page["locator"]>, property: string): Promise<string> {
  return locator.first().evaluate(
    // deno-lint-ignore no-explicit-any
    (element: any, name: string) => (globalThis as any).getComputedStyle(element)[name],
    property,
  );
}

/**
 * The words of the cells a locator finds that are broken across two lines
 * (a line break inside a word), with the cell's \`data-label\`.
 */
function brokenWords(cells: Locator): Promise<string[]> {
  return cells.evaluateAll((elements) => {
    // deno-lint-ignore no-explicit-any
    const document = (globalThis as any).document;
    const broken: string[] = [];
    for (const element of elements) {
      const walker = document.createTreeWalker(element, 4 /* NodeFilter.SHOW_TEXT */);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const match of String(node.textContent).matchAll(/\S+/g)) {
          const range = document.createRange();
          range.setStart(node, match.index);
          range.setEnd(node, match.index + match[0].length);
          const tops = new Set(
            [...range.getClientRects()].map((rect: { top: number }) => Math.round(rect.top)),
          );
          if (tops.size > 1) broken.push(`${element.dataset.label}: ${match[0]}`);
        }
      }
    }
    return broken;
  });
}

/** How far an element's content reaches past its box on the right, in px. */
function overflowX(locator: Locator): Promise<number> {
  return locator.evaluate((element) => element.scrollWidth - element.clientWidth);
}

function rgb(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}

Deno.test(
  "the Mind page: P/A/D with a chart point per state.delta, narrative diffs, reflections and token spend",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    fake.script({
      forecast: [{ reply: { text: FORECAST }, times: 20 }],
      narrative: [{ reply: { text: NARRATIVE } }, { reply: { text: NARRATIVE_3 } }],
      reflection: REFLECTION,
    });
    const { host, url } = await e2eServer(fake);
    const first = await api(url, "/api/chat", "POST", {
      message: "Hello there, how is the weather today?",
    });
    assert.equal(first.status, 200, JSON.stringify(first.json));
    const threadId = String(first.json.thread_id);
    // The forecast of the next message is ready before that message is sent.
    await host.kernel.mind.scheduler.idle();
    const session = await openPage(`${url}/mind`);
    const { page } = session;
    try {
      await page.getByRole("heading", { name: "Mind", level: 1 }).waitFor();
      const affect = page.locator("sm-affect-card");
      for (const name of ["Pleasure", "Arousal", "Dominance"]) {
        const value = affect.locator(`[data-dim=${name}]`);
        await value.waitFor();
        assert.match((await value.textContent()) ?? "", /^[+−]\d\.\d\d$/, `${name} value`);
      }
      assert.match((await affect.locator("[data-mood]").textContent()) ?? "", /\w+/);

      // The socket's snapshot is the first point; each state.delta adds one.
      const before = await morePoints(page, 0);
      const requested: string[] = [];
      page.on("request", (request) => requested.push(new URL(request.url()).pathname));
      const budgetsReloaded = page.waitForResponse((response) =>
        new URL(response.url()).pathname === "/api/budgets"
      );
      const second = await api(url, "/api/chat", "POST", {
        message: "What about tomorrow?",
        thread_id: threadId,
      });
      assert.equal(second.status, 200, JSON.stringify(second.json));
      const after = await morePoints(page, before);
      assert.ok(after > before, `the chart went from ${before} to ${after} points`);
      await affect.getByRole("button", { name: "Show data" }).click();
      assert.ok((await affect.locator("tbody tr").count()) >= 2, "the data table lists points");

      // The forecast made after the first turn was resolved by the second.
      const forecasts = page.locator("sm-forecast-card");
      await forecasts.getByText("What about tomorrow?").first().waitFor();
      // One turn's several state.deltas cost a card one reload, not one each (they share the
      // user's API rate limit): the token spend and forecasts once, the thread's messages once.
      await budgetsReloaded;
      const times = (path: string) => requested.filter((item) => item === path).length;
      // (The token spend may reload once more for the forecast job that follows the turn.)
      assert.ok(times("/api/budgets") <= 2, requested.join(" "));
      assert.equal(times("/api/forecasts"), 1, requested.join(" "));
      assert.equal(times(`/api/threads/${threadId}/messages`), 1, requested.join(" "));

      // A second narrative version: the card lists both and shows the word diff.
      const rewrite = await api(url, "/api/chat", "POST", { message: "/purpose rewrite --force" });
      assert.match(String(rewrite.json.response), /^narrative v2$/, JSON.stringify(rewrite.json));
      const narrative = page.locator("sm-narrative-card");
      await narrative.locator("tr[data-version='2']").waitFor();
      await narrative.locator("tr[data-version='1']").waitFor();
      const date = narrative.locator("tr[data-version='2'] td[data-label='Date']");
      assert.match((await date.textContent()) ?? "", /\d/, "the version's created_at is shown");
      await narrative.locator("ins").first().waitFor();
      assert.ok((await narrative.locator("del").count()) > 0, "removed words are struck through");
      assert.match((await narrative.locator("ins").first().textContent()) ?? "", /\S/);
      assert.equal(await computed(narrative.locator("ins"), "textDecorationLine"), "underline");
      assert.equal(await computed(narrative.locator("del"), "textDecorationLine"), "line-through");

      // A reflection: newest first, expandable to its issues, instructions and self statement.
      const reflect = await api(url, "/api/reflect", "POST", {});
      assert.equal(reflect.json.success, true, JSON.stringify(reflect.json));
      const reflections = page.locator("sm-reflections-card");
      await reflections.getByText("Short answers leave people guessing.").click();
      await reflections.getByText("Ask one clarifying question when a request is vague.").waitFor();
      await reflections.getByText("I try to be clear and kind.").waitFor();

      // The reflection's insight made v3, whose source names the reflection by its long id. The
      // versions table fits its card: the id may break anywhere, other words only between words.
      const v3 = narrative.locator("tr[data-version='3'] td[data-label='Source']");
      await v3.waitFor();
      assert.match((await v3.textContent()) ?? "", /^\s*reflection rfl_[0-9A-Z]{26}\s*$/);
      assert.equal(await overflowX(narrative.locator(".versions")), 0, "no column is cut off");
      assert.deepEqual(
        (await brokenWords(narrative.locator("td"))).filter((word) => !/rfl_/.test(word)),
        [],
        "narrative words broken across lines",
      );
      // The forecasts' texts wrap between words, never inside one ("Contin / ue").
      assert.deepEqual(
        await brokenWords(forecasts.locator("td")),
        [],
        "forecast words broken across lines",
      );
      assert.equal(await overflowX(forecasts.locator(".table-box")), 0, "no column is cut off");
      await narrative.locator(".versions").scrollIntoViewIfNeeded();
      await screenshot(page, "mind-narrative-1280");
      await forecasts.locator(".table-box").scrollIntoViewIfNeeded();
      await screenshot(page, "mind-forecasts-1280");

      // Token spend: a module at 85 % of its budget is amber, one past it red and "over budget".
      await host.kernel.mind.scheduler.idle();
      const budgets = (await api(url, "/api/budgets")).json.items as Array<
        { module: string; used_day: number }
      >;
      const used = (module: string) => budgets.find((item) => item.module === module)!.used_day;
      assert.ok(used("mind") > 0 && used("psyche_purpose") > 0, JSON.stringify(budgets));
      const near = await api(url, "/api/budgets/mind", "PUT", {
        per_day: Math.ceil(used("mind") / 0.85),
      });
      assert.equal(near.status, 200, JSON.stringify(near.json));
      const over = await api(url, "/api/budgets/psyche_purpose", "PUT", { per_day: 1 });
      assert.equal(over.status, 200, JSON.stringify(over.json));
      // Away and back: the page loads afresh.
      await page.getByRole("link", { name: "Memory browser" }).click();
      await page.getByRole("heading", { name: "Memory", level: 1 }).waitFor();
      await page.getByRole("link", { name: "Back to Mind" }).click();
      const spend = page.locator("sm-spend-card");
      await spend.locator("tr[data-module=mind][data-level=warn]").waitFor();
      const purpose = spend.locator("tr[data-module=psyche_purpose][data-level=over]");
      await purpose.waitFor();
      assert.match((await purpose.textContent()) ?? "", /over budget/);
      assert.equal(
        await computed(spend.locator("tr[data-module=psyche_purpose] rect.fill"), "fill"),
        await computed(spend.locator("tr[data-module=psyche_purpose] .over-text"), "color"),
        "the over-budget bar is red like its words",
      );
      await page.locator("sm-affect-card [data-dim=Pleasure]").waitFor();

      await axe(page, "mind");
      await screenshot(page, "mind-1280");
      await page.setViewportSize({ width: 375, height: 812 });
      await fitsTheWindow(page, "mind at 375 px");
      await screenshot(page, "mind-375");
      session.check();
    } finally {
      await session.close();
    }

    const dark = await openPage(`${url}/mind`, { dark: true });
    try {
      await dark.page.getByRole("heading", { name: "Mind", level: 1 }).waitFor();
      await dark.page.locator("sm-affect-card [data-dim=Pleasure]").waitFor();
      const background = await computed(dark.page.locator("body"), "backgroundColor");
      assert.equal(background, rgb(DARK.bg), "the dark scheme's background token applies");
      await axe(dark.page, "mind (dark)");
      await screenshot(dark.page, "mind-dark-1280");
      dark.check();
    } finally {
      await dark.close();
      await host.close();
    }
  },
);

Deno.test(
  "the memory browser: search, kind filter, change chip, forget after confirmation, NDJSON export",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    const { host, url } = await e2eServer(fake);
    const added = await api(url, "/api/memories", "POST", {
      text: "The user's cat is called Miso and sleeps in cardboard boxes.",
    });
    assert.equal(added.status, 201, JSON.stringify(added.json));
    const id = String(added.json.id);
    const session = await openPage(`${url}/mind/memory`);
    const { page } = session;
    try {
      await page.getByRole("heading", { name: "Memory", level: 1 }).waitFor();
      // The test server embeds with the local default, which the page names (memory.md §10.13).
      await page.getByText(/Search uses lexical embeddings \(lexical\//).waitFor();
      const item = page.locator(`article[data-memory="${id}"]`);
      await item.waitFor(); // the newest memories, before any search
      const search = page.getByRole("searchbox", { name: "Search memories" });
      await search.fill("M");
      await page.getByText("Type at least 2 characters to search").waitFor();
      await search.fill("Miso");
      await page.getByText("result for “Miso”").or(page.getByText("results for “Miso”")).waitFor();
      await item.waitFor();
      assert.match((await item.textContent()) ?? "", /Score\s*\d\.\d{3}/);
      assert.match((await item.textContent()) ?? "", /semantic/);

      await page.getByRole("combobox", { name: "Kind" }).selectOption("episode");
      await page.getByText("No memories match.").waitFor();
      await page.getByRole("combobox", { name: "Kind" }).selectOption("");
      await item.waitFor();
      await search.fill("");
      await page.getByText(/^\d+ newest memor(y|ies)\.$/).waitFor();

      // Another memory arrives over REST: the server's memory.update reaches the page's socket
      // (subscribed to memory once welcomed) and raises the chip.
      await page.waitForFunction(() =>
        // deno-lint-ignore no-explicit-any
        (globalThis as any).document.querySelector("sm-app").store.state.connection.state ===
          "online"
      );
      const other = await api(url, "/api/memories", "POST", {
        text: "The user prefers tea to coffee in the morning.",
      });
      assert.equal(other.status, 201);
      const chip = page.getByRole("button", { name: /^1 change, refresh$/ });
      await chip.waitFor();
      await chip.click();
      await chip.waitFor({ state: "hidden" });
      await page.locator(`article[data-memory="${other.json.id}"]`).waitFor();

      // Forget asks first, quoting the memory; Cancel keeps it, Forget removes it.
      await item.getByRole("button", { name: /^Forget/ }).click();
      const dialog = page.getByRole("dialog", { name: "Forget this memory?" });
      await dialog.waitFor();
      assert.match((await dialog.locator("blockquote").textContent()) ?? "", /Miso/);
      await dialog.getByRole("button", { name: "Cancel" }).click();
      await dialog.waitFor({ state: "hidden" });
      assert.equal((await api(url, `/api/memories/${id}`)).status, 200, "Cancel kept it");
      await item.getByRole("button", { name: /^Forget/ }).click();
      await dialog.waitFor();
      await dialog.getByRole("button", { name: "Forget" }).click();
      await item.waitFor({ state: "detached" });
      await page.getByText("The memory was forgotten.").waitFor();
      assert.equal((await api(url, `/api/memories/${id}`)).status, 404, "forgotten on the server");

      // Export: a download of NDJSON through a Blob object URL.
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("button", { name: "Export (NDJSON)" }).click(),
      ]);
      assert.match(download.suggestedFilename(), /\.ndjson$/);
      const path = await download.path();
      const lines = (await Deno.readTextFile(path)).trim().split("\n").map((line) =>
        JSON.parse(line)
      );
      const text = JSON.stringify(lines);
      assert.match(text, /prefers tea to coffee/);
      assert.doesNotMatch(text, /Miso/, "the forgotten memory is not exported");

      // The influence panel's links open one memory by id.
      await page.goto(`${url}/mind/memory?id=${other.json.id}`);
      await page.locator(`article[data-memory="${other.json.id}"]`).waitFor();
      await page.getByText("One memory, opened by its id.").waitFor();
      await page.getByRole("button", { name: "Show all memories" }).click();
      await page.getByText(/^\d+ newest memor(y|ies)\.$/).waitFor();

      await axe(page, "memory");
      await screenshot(page, "memory-1280");
      await page.setViewportSize({ width: 375, height: 812 });
      await fitsTheWindow(page, "memory at 375 px");
      await screenshot(page, "memory-375");
      session.check();
    } finally {
      await session.close();
      await host.close();
    }
  },
);

Deno.test(
  "a page whose module cannot be fetched says so with a reload button, which brings it back",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    const { host, url } = await e2eServer(fake);
    const session = await openPage(`${url}/chat`);
    const { page } = session;
    try {
      await page.getByRole("heading", { name: "Chat", level: 1 }).waitFor();
      // The memory page's chunk does not arrive (a dropped connection, a replaced build).
      const chunk = /\/assets\/page-memory-[^/]*\.js$/;
      await page.route(chunk, (route) => route.abort("connectionreset"));
      await page.goto(`${url}/mind/memory`);
      const alert = page.getByRole("alert");
      await alert.filter({ hasText: "This page could not be loaded" }).waitFor();
      assert.equal(
        await page.getByRole("heading", { level: 1 }).textContent(),
        "Memory",
        "the route's title stays",
      );
      await screenshot(page, "page-unloaded-1280");
      await page.unroute(chunk);
      await page.getByRole("button", { name: "Reload" }).click();
      await page.getByRole("heading", { name: "Memory", level: 1 }).waitFor();
      await page.getByText(/Search uses lexical embeddings/).waitFor();
    } finally {
      await session.close();
      await host.close();
    }
  },
);
