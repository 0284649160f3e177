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
import type { Locator, Page } from "playwright-core";
import type { TimelineProject } from "../../web/lib/gantt_layout.ts";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { answer } from "../projects/helpers.ts";
import { axe, E2E, e2eServer, fitsTheWindow, openPage, screenshot } from "./helpers.ts";

const done = answer({
  output: "Done.",
  explanation: "",
  questions: [],
  taskProgress: 1,
  blockers: [],
});

/** Names that fit the 1280 px label column whole, the first two at a flat 7 px a letter not. */
const NAMES = ["Build the first version", "Review and hand over", "Gather the requirements"];

/**
 * Each Gantt label: the full name (its \`<title>\`), whether the text is
 * whole, its width in its own font, the clip on it, the "…" after it and
 * where the badge begins.
 */
function nameFits(gantt: Locator) {
  return gantt.locator("g.task").evaluateAll((groups) =>
    // deno-lint-ignore no-explicit-any
    groups.map((group: any) => {
      const text = group.querySelector("text.name");
      const full = String(text.querySelector("title")?.textContent ?? "");
      const own = [...text.childNodes].filter((node: { nodeType: number }) => node.nodeType === 3)
        .map((node: { textContent: string }) => node.textContent).join("").trim();
      const clipId = /url\(#(.+)\)/.exec(text.getAttribute("clip-path") ?? "")?.[1];
      const clip = clipId
        ? group.getRootNode().getElementById(clipId)?.querySelector("rect")
        : null;
      const ellipsis = [...group.querySelectorAll("text")]
        .find((element) => element.textContent.trim() === "…");
      return {
        full,
        whole: own === full,
        fullWidth: text.getComputedTextLength(),
        nameX: Number(text.getAttribute("x")),
        clipWidth: clip ? Number(clip.getAttribute("width")) : Infinity,
        ellipsisX: ellipsis ? Number(ellipsis.getAttribute("x")) : null,
        ellipsisEnd: ellipsis
          ? Number(ellipsis.getAttribute("x")) + ellipsis.getComputedTextLength()
          : null,
        badgeX: Number(group.querySelector("rect.badge").getAttribute("x")),
      };
    })
  ) as Promise<
    Array<{
      full: string;
      whole: boolean;
      fullWidth: number;
      nameX: number;
      clipWidth: number;
      ellipsisX: number | null;
      ellipsisEnd: number | null;
      badgeX: number;
    }>
  >;
}

/** A name is ellipsised only when it does not fit; then the "…" follows what shows, before the badge. */
function assertNamesFit(labels: Awaited<ReturnType<typeof nameFits>>) {
  for (const label of labels) {
    const room = label.badgeX - label.nameX;
    assert.ok(label.whole, `"${label.full}": the text stays whole for its accessible name`);
    if (label.fullWidth + 8 <= room) {
      assert.equal(label.ellipsisX, null, `"${label.full}" fits, yet has "…"`);
      assert.ok(label.clipWidth >= label.fullWidth, `"${label.full}" fits, yet is clipped`);
    }
    if (label.fullWidth > room) {
      assert.ok(label.ellipsisX !== null, `"${label.full}" is cut without an ellipsis`);
      assert.ok(label.clipWidth < room, `"${label.full}" runs into its badge`);
      assert.ok(Math.abs(label.ellipsisX - (label.nameX + label.clipWidth)) < 1, "no gap");
      assert.ok(label.ellipsisEnd! <= label.badgeX, `"${label.full}": "…" covers the badge`);
    }
  }
}

/** Whether two boxes overlap. */
function overlap(
  a: { x: number; y: number; width: number; height: number },
  b: { x: number; y: number; width: number; height: number },
): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height &&
    b.y < a.y + a.height;
}

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
      // A template's project may use version control too: the tab has its own (visible) box.
      await dialog.locator("#panel-template").getByRole("checkbox", {
        name: "Use version control",
      }).waitFor();
      await screenshot(page, "projects-new-1280");
      const posted = page.waitForRequest((request) =>
        request.method() === "POST" && new URL(request.url()).pathname === "/api/projects"
      );
      await dialog.getByRole("button", { name: "Start project" }).click();
      // Unticked, the server's default decides: no vcs key is sent.
      assert.deepEqual((await posted).postDataJSON(), { template_id: "web-app" });
      await page.getByRole("heading", { name: "Web Application", level: 1 }).waitFor();
      assert.match(new URL(page.url()).pathname, /^\/projects\/prj_[0-9A-Z]{26}$/);
      assert.equal(await page.locator("dd[data-request]").textContent(), "Web Application");

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
      // A waiting task's mark is a clock face, not "…", which reads as cut-off text.
      assert.deepEqual(
        (await gantt.locator("g.task text.icon").allTextContents()).map((icon) => icon.trim()),
        ["✓", "✓", "○", "○", "◷", "◷", "◷"],
      );
      assert.match(await gantt.locator(".legend").textContent() ?? "", /◷ waiting/);
      // Names are measured: cut with "…" only when they do not fit ("Requirements & Architecture").
      const labels = await nameFits(gantt);
      assertNamesFit(labels);
      assert.ok(labels[0]!.ellipsisX !== null, "the long first name is ellipsised");
      // Names that fit though they have more letters than 7 px each would allow are shown whole.
      const original: TimelineProject = await gantt.evaluate((element) => element.project);
      await gantt.evaluate(async (element, names) => {
        const project = structuredClone(element.project!);
        names.forEach((name, index) => (project.roadmap[index]!.name = name));
        element.project = project;
        await element.updateComplete;
      }, NAMES);
      const renamed = await nameFits(gantt);
      assertNamesFit(renamed);
      for (const label of renamed.slice(0, 2)) {
        const room = label.badgeX - label.nameX;
        assert.ok(label.fullWidth + 8 <= room, `"${label.full}" fits (the test's premise)`);
        assert.equal(label.ellipsisX, null, `"${label.full}" is shown whole`);
      }
      // The "Plan accepted" diamond and the "Now" label do not overlap, even at the same time.
      const accepted = original.milestones.find((m) => m.kind === "plan_accepted")!;
      await gantt.evaluate(async (element, { project, at }) => {
        element.project = project;
        element.now = new Date(at);
        await element.updateComplete;
      }, { project: original, at: accepted.at! });
      const nowBox = (await gantt.locator("[data-now] text").boundingBox())!;
      const diamond = gantt.locator("path.milestone.reached").filter({ hasText: accepted.label });
      const diamondBox = (await diamond.boundingBox())!;
      assert.ok(Math.abs(diamondBox.x + diamondBox.width / 2 - nowBox.x) < 8, "both at now");
      assert.ok(!overlap(nowBox, diamondBox), "the diamond covers the Now label");

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
      await fitsTheWindow(page, "a zoomed chart");
      await page.keyboard.press("0");
      await gantt.getByText("100 %").waitFor();
      await axe(page, "project gantt");
      await screenshot(page, "projects-detail-1280");
      await page.keyboard.press("Enter");
      await page.locator("sm-project-tasks tr.selected").waitFor();
      assert.equal((await focused(page)).tag, "tr");
      await axe(page, "project tasks");

      // The main menu marks the section a sub-page belongs to; counts read as words.
      assert.equal(
        (await page.locator('sm-app nav a[aria-current="page"]').textContent())?.trim(),
        "Projects",
      );
      await page.getByRole("button", { name: "Run 3 steps" }).waitFor();
      // Pause and Resume post no body (over a real socket): the project pauses and runs again.
      await page.getByRole("button", { name: "Pause", exact: true }).click();
      await page.getByText("Paused: nothing happens until you resume it.").waitFor();
      await page.getByRole("button", { name: "Resume", exact: true }).click();
      await page.getByRole("button", { name: "Pause", exact: true }).waitFor();
      assert.equal(await page.locator("sm-project-actions .error, [role=alert]").count(), 0);

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
      await fitsTheWindow(page, "timeline at 375 px");
      await screenshot(page, "timeline-375");
      await page.setViewportSize({ width: 1280, height: 800 });

      // 375 px: no horizontal page scroll; the chart scrolls in its own box.
      await page.setViewportSize({ width: 375, height: 812 });
      await page.getByRole("link", { name: "Projects", exact: true }).first().click();
      await page.locator("tr[data-project]").waitFor();
      await fitsTheWindow(page, "/projects at 375 px");
      await screenshot(page, "projects-375");
      await page.locator("tr[data-project] a").click();
      await page.getByRole("tab", { name: "Gantt" }).click();
      await page.locator("sm-gantt g.task").first().waitFor();
      await fitsTheWindow(page, "a project at 375 px");
      await axe(page, "project at 375 px");
      await screenshot(page, "projects-detail-375");
      session.check();
    } finally {
      await session.close();
      await host.close();
    }
  },
);
