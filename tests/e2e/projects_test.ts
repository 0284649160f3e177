/**
 * Projects in the browser (spec/dashboard.md §8 items 8, 10, 11, 14): the
 * `web-app` template started from the New project dialog (which traps focus
 * and gives it back to its opener on Esc), "Skip and start", two Continues
 * that complete two tasks; the detail page shows the task table, live
 * events and a Gantt chart of 7 rows, 7 dependency arrows, planned and
 * actual bars, a "Now" line and milestone diamonds, whose tasks take focus
 * with the arrow keys. The list and the timeline follow; 375 px fits.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { answer } from "../projects/helpers.ts";
import { axe, E2E, e2eServer, noHorizontalScroll, openPage, screenshot } from "./helpers.ts";

const done = answer({
  output: "Done.",
  explanation: "",
  questions: [],
  taskProgress: 1,
  blockers: [],
});

/** The focused element, through shadow roots: its tag, text and a few attributes. */
function focused(page: Page) {
  return page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    let active: any = (globalThis as any).document.activeElement;
    while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
    return {
      tag: String(active?.localName ?? ""),
      text: String(active?.textContent ?? "").trim(),
      inDialog: Boolean(active?.closest?.("dialog[open]")),
      index: active?.getAttribute?.("data-index") ?? null,
    };
  });
}

Deno.test(
  "a web-app project from the New project dialog: skip, two tasks done, task table, live events and the Gantt chart",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    fake.script({ execute: [done, done] });
    const { host, url } = await e2eServer(fake);
    // The browser's clock starts where the server's fake clock stands, so "now" is in the chart.
    const session = await openPage(`${url}/projects`);
    const { page } = session;
    try {
      await page.clock.install({ time: host.clock.now() + 30 * 60_000 });
      await page.reload();
      await page.getByRole("heading", { name: "Projects" }).waitFor();
      await page.getByText("No active projects.").waitFor();

      // Keyboard: the dialog traps focus, Esc closes it and focus returns to its opener.
      const opener = page.getByRole("button", { name: "New project" });
      await opener.focus();
      await page.keyboard.press("Enter");
      const dialog = page.getByRole("dialog", { name: "New project" });
      await dialog.waitFor();
      for (let i = 0; i < 12; i++) {
        assert.equal((await focused(page)).inDialog, true, `focus left the dialog after ${i} Tabs`);
        await page.keyboard.press(i % 4 === 3 ? "Shift+Tab" : "Tab");
      }
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "hidden" });
      assert.deepEqual(await focused(page), {
        tag: "button",
        text: "New project",
        inDialog: false,
        index: null,
      });

      // Start the web-app template.
      await page.keyboard.press("Enter");
      await dialog.waitFor();
      await dialog.getByRole("tab", { name: "Template" }).click();
      await dialog.getByRole("radio", { name: /Web Application/ }).check();
      await screenshot(page, "projects-new-1280");
      await dialog.getByRole("button", { name: "Start project" }).click();
      await page.getByRole("heading", { name: "Web Application", level: 1 }).waitFor();
      assert.match(new URL(page.url()).pathname, /^\/projects\/prj_[0-9A-Z]{26}$/);

      // Before acceptance the chart has no schedule; "Skip and start" gives it one (a live refetch).
      await page.getByRole("tab", { name: "Gantt" }).click();
      await page.locator("sm-gantt").getByText("No schedule yet: accept the plan.").waitFor();
      assert.equal(await page.locator("sm-gantt li[data-task]").count(), 7);
      await page.getByRole("button", { name: "Skip and start" }).click();
      await page.locator("sm-gantt svg[role=img]").waitFor();
      await page.getByRole("tab", { name: "Tasks" }).click();

      // Then Continue twice: two tasks complete.
      const next = page.getByRole("button", { name: "Continue", exact: true });
      await next.click();
      await page.getByText("1/7 tasks done").waitFor();
      await next.click();
      await page.getByText("2/7 tasks done").waitFor();

      // The task table (refetched after the task events).
      const rows = page.locator("sm-project-tasks tr[data-task]");
      await rows.locator("td[data-status=completed]").nth(1).waitFor();
      assert.equal(await rows.count(), 7);
      const statuses = await rows.locator("td[data-label=Status]").allTextContents();
      assert.deepEqual(statuses.map((status) => status.trim()), [
        "done",
        "done",
        "ready",
        "ready",
        "waiting",
        "waiting",
        "waiting",
      ]);

      // Live events, newest first, one per seq.
      await page.getByRole("tab", { name: "Events" }).click();
      const events = page.locator("sm-project-events li[data-seq]");
      await page.locator('sm-project-events li[data-type="task.completed"]').nth(1).waitFor();
      const seqs = (await events.evaluateAll((items) =>
        items.map((item) =>
          Number(item.getAttribute("data-seq"))
        )
      )) as number[];
      assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a));
      assert.equal(new Set(seqs).size, seqs.length);
      assert.deepEqual(seqs.at(-1), 1);
      assert.ok(seqs.length >= 7, `events: ${seqs}`);

      // The Gantt chart.
      await page.getByRole("tab", { name: "Gantt" }).click();
      const gantt = page.locator("sm-gantt");
      await gantt.locator("svg[role=img]").waitFor();
      assert.match(
        await gantt.locator("svg[role=img]").getAttribute("aria-label") ?? "",
        /7 tasks, 2 done, 0 in progress, planned end/,
      );
      assert.equal(await gantt.locator("g.task").count(), 7);
      assert.equal(await gantt.locator("path.arrow").count(), 7);
      assert.equal(
        await gantt.locator("path.arrow[marker-end]").count(),
        7,
        "every arrow has its arrowhead",
      );
      assert.equal(await gantt.locator("rect[data-bar=planned]").count(), 7);
      assert.equal(await gantt.locator("rect[data-bar=actual]").count(), 2);
      assert.equal((await gantt.locator("[data-now] text").textContent())?.trim(), "Now");
      assert.ok(await gantt.locator("path.milestone.reached").count() >= 1, "a reached milestone");
      assert.ok(await gantt.locator("path.milestone.planned-at").count() >= 1, "a planned one");
      assert.equal(
        await gantt.locator("text title").first().textContent(),
        "Requirements & Architecture",
      );

      // Gantt tasks take focus with the arrow keys; Enter opens the task in the table.
      await gantt.locator('g.task[data-index="0"]').focus();
      await page.keyboard.press("ArrowDown");
      assert.equal((await focused(page)).index, "1");
      await page.keyboard.press("ArrowDown");
      assert.equal((await focused(page)).index, "2");
      await page.keyboard.press("ArrowUp");
      assert.equal((await focused(page)).index, "1");
      await page.keyboard.press("+");
      await gantt.getByText("150 %").waitFor();
      // Zoomed in, the chart scrolls inside its own box while the label column stays put.
      const box = gantt.locator(".scroll");
      const labelsBefore = await gantt.locator("svg.labels").boundingBox();
      await box.evaluate((element) => (element.scrollLeft = 300));
      assert.ok(await box.evaluate((element) => element.scrollLeft) > 0, "the box scrolls");
      assert.equal((await gantt.locator("svg.labels").boundingBox())?.x, labelsBefore?.x);
      await noHorizontalScroll(page, "a zoomed chart");
      await page.keyboard.press("0");
      await gantt.getByText("100 %").waitFor();
      await axe(page, "project gantt");
      await screenshot(page, "projects-detail-1280");
      await page.keyboard.press("Enter");
      await page.locator("sm-project-tasks tr.selected").waitFor();
      assert.equal((await focused(page)).tag, "tr");
      await axe(page, "project tasks");

      // The list follows; then the timeline.
      await page.getByRole("link", { name: "Projects", exact: true }).first().click();
      const row = page.locator("tr[data-project]");
      await row.waitFor();
      assert.equal((await row.locator("td[data-label=Tasks]").textContent())?.trim(), "2/7");
      assert.match(await row.locator("td[data-label=Progress]").textContent() ?? "", /29 %/);
      assert.equal(
        (await row.locator("td[data-label=Current]").textContent())?.trim(),
        "● current",
      );
      await axe(page, "projects");
      await screenshot(page, "projects-1280");

      await page.getByRole("link", { name: "Timeline" }).click();
      await page.getByRole("heading", { name: "Timeline" }).waitFor();
      await page.locator("page-timeline sm-gantt g.task").first().waitFor();
      assert.equal(await page.locator("page-timeline sm-gantt path.arrow").count(), 7);
      await axe(page, "timeline");
      await screenshot(page, "timeline-1280");
      await page.setViewportSize({ width: 375, height: 812 });
      await noHorizontalScroll(page, "timeline at 375 px");
      await screenshot(page, "timeline-375");
      await page.setViewportSize({ width: 1280, height: 800 });

      // 375 px: no horizontal page scroll; the chart scrolls in its own box.
      await page.setViewportSize({ width: 375, height: 812 });
      await page.getByRole("link", { name: "Projects", exact: true }).first().click();
      await page.locator("tr[data-project]").waitFor();
      await noHorizontalScroll(page, "/projects at 375 px");
      await screenshot(page, "projects-375");
      await page.locator("tr[data-project] a").click();
      await page.getByRole("tab", { name: "Gantt" }).click();
      await page.locator("sm-gantt g.task").first().waitFor();
      await noHorizontalScroll(page, "a project at 375 px");
      await axe(page, "project at 375 px");
      await screenshot(page, "projects-detail-375");
      session.check();
    } finally {
      await session.close();
      await host.close();
    }
  },
);
