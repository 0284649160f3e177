/**
 * A project's Files tab in the browser (spec/dashboard.md §2, §5.4): a
 * project with version control whose two steps write files; the tab
 * (reached with the arrow keys) follows them live, lists path, size and a
 * short SHA-256, downloads each file through `fetch` and a Blob URL, shows
 * the two commits, and rolls back to the first after a confirmation that
 * names it (Esc cancels, focus returns), announcing the backup branch; the
 * listing and the log then show the earlier state. Axe, 1280 and 375 px.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { api, turnEnd, writes } from "../projects/helpers.ts";
import { axe, E2E, e2eServer, fitsTheWindow, openPage, screenshot } from "./helpers.ts";

/** The focused element through shadow roots: its tag and text. */
function focused(page: Page) {
  return page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    let active: any = (globalThis as any).document.activeElement;
    while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
    return { tag: String(active?.localName ?? ""), text: String(active?.textContent ?? "").trim() };
  });
}

/** Clicks `name`'s Download button and returns the saved file's name and text. */
async function download(page: Page, path: string): Promise<{ name: string; text: string }> {
  const [saved] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: `Download ${path}`, exact: true }).click(),
  ]);
  return { name: saved.suggestedFilename(), text: await Deno.readTextFile(await saved.path()) };
}

Deno.test(
  "the Files tab: live listing, downloads, the VCS log and a confirmed rollback to the earlier files",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    fake.script({
      execute: [
        ...writes({ "src/app.txt": "version 1\n" }, 0.5),
        ...writes({ "src/app.txt": "version 2\n", "notes/read me.txt": "added later\n" }, 1),
      ],
    });
    // file_write is a `write` tool: with the threshold at execute it runs without an approval.
    const { host, url } = await e2eServer(fake, {
      config: { tools: { approval: { threshold: "execute" } } },
    });
    const created = await api(host, "POST", "/api/projects", {
      template_id: "cli-tool",
      vcs: true,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.project.vcs, true);
    const id = created.body.project.id as string;
    const skipped = await api(host, "POST", `/api/projects/${id}/input`, { intent: "skip" });
    await turnEnd(host, skipped.body.turn_id);

    const session = await openPage(`${url}/projects/${id}`);
    const { page } = session;
    const files = page.locator("sm-project-files");
    const fileRows = files.locator("tr[data-path]");
    const commitRows = files.locator("tr[data-hash]");
    try {
      // The tab with the keyboard: Tasks → Events → Files.
      const tasksTab = page.getByRole("tab", { name: "Tasks" });
      await tasksTab.focus();
      await page.keyboard.press("ArrowRight");
      await page.keyboard.press("ArrowRight");
      const filesTab = page.getByRole("tab", { name: "Files" });
      assert.equal(await filesTab.getAttribute("aria-selected"), "true");
      assert.deepEqual(await focused(page), { tag: "button", text: "Files" });
      await files.getByText("No files yet.").waitFor();
      await files.getByText("No commits yet.").waitFor();

      // Two steps from the action panel; the tab follows the project's live events.
      await page.waitForFunction(() =>
        // deno-lint-ignore no-explicit-any
        (globalThis as any).document.querySelector("sm-app").store.state.connection.state ===
          "online"
      );
      const next = page.getByRole("button", { name: "Continue", exact: true });
      await next.click();
      await files.locator('tr[data-path="src/app.txt"]').waitFor();
      await commitRows.first().waitFor();
      await next.click();
      await files.locator('tr[data-path="notes/read me.txt"]').waitFor();
      await commitRows.nth(1).waitFor();

      assert.deepEqual(
        await fileRows.evaluateAll((rows) => rows.map((row) => row.getAttribute("data-path"))),
        ["notes/read me.txt", "src/app.txt"],
      );
      const app = files.locator('tr[data-path="src/app.txt"]');
      assert.equal((await app.locator("td[data-label=Size]").textContent())?.trim(), "10 B");
      assert.match(
        (await app.locator("td[data-label=SHA-256]").textContent())?.trim() ?? "",
        /^[0-9a-f]{12}$/,
      );
      const log = (await api(host, "GET", `/api/projects/${id}/vcs/log`)).body.commits as Array<
        { hash: string; subject: string }
      >;
      assert.equal(log.length, 2);
      assert.deepEqual(
        await commitRows.evaluateAll((rows) => rows.map((row) => row.getAttribute("data-hash"))),
        log.map((commit) => commit.hash),
      );
      const subjects = await commitRows.locator("td[data-label=Subject]").allTextContents();
      assert.match(subjects[0]!.trim(), /^feat\(.+\): completed$/);
      assert.match(subjects[1]!.trim(), /^wip\(.+\): iteration 1$/);
      assert.equal(await commitRows.first().getByRole("button").count(), 0, "not the newest");

      // Downloads: the file's bytes, named after its last path segment.
      assert.deepEqual(await download(page, "src/app.txt"), {
        name: "app.txt",
        text: "version 2\n",
      });
      await files.getByText("Downloaded app.txt.").waitFor();
      assert.deepEqual(await download(page, "notes/read me.txt"), {
        name: "read me.txt",
        text: "added later\n",
      });
      await axe(page, "project files");
      await screenshot(page, "project-files-1280");

      // Rollback asks first, naming the commit; Esc cancels and focus returns to the button.
      const older = log[1]!;
      const rollBack = commitRows.nth(1).getByRole("button", { name: /^Roll back to/ });
      assert.equal(
        await rollBack.getAttribute("aria-label"),
        `Roll back to ${older.hash.slice(0, 7)}: ${older.subject}`,
      );
      await rollBack.click();
      const dialog = page.getByRole("dialog", { name: `Roll back to ${older.hash.slice(0, 7)}?` });
      await dialog.waitFor();
      assert.equal((await dialog.locator("blockquote").textContent())?.trim(), older.subject);
      await axe(page, "rollback confirmation");
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "hidden" });
      assert.deepEqual(await focused(page), { tag: "button", text: "Roll back…" });
      assert.equal(
        (await api(host, "GET", `/api/projects/${id}/vcs/log`)).body.commits.length,
        2,
        "Esc rolled nothing back",
      );

      await rollBack.click();
      await dialog.waitFor();
      await dialog.getByRole("button", { name: "Roll back", exact: true }).click();
      await dialog.waitFor({ state: "hidden" });
      assert.deepEqual(await focused(page), { tag: "h2", text: "Version control" });
      const status = files.getByRole("status");
      await status.getByText(/kept on the branch backup\/\d{8}T\d{6}Z\.$/).waitFor();
      assert.match(
        (await status.textContent()) ?? "",
        new RegExp(`^Rolled back to ${older.hash.slice(0, 7)}\\.`),
      );
      await files.locator('tr[data-path="notes/read me.txt"]').waitFor({ state: "detached" });
      assert.deepEqual(
        await fileRows.evaluateAll((rows) => rows.map((row) => row.getAttribute("data-path"))),
        ["src/app.txt"],
      );
      await commitRows.nth(1).waitFor({ state: "detached" });
      assert.deepEqual(
        await commitRows.evaluateAll((rows) => rows.map((row) => row.getAttribute("data-hash"))),
        [older.hash],
      );
      assert.deepEqual(await download(page, "src/app.txt"), {
        name: "app.txt",
        text: "version 1\n",
      });

      // 375 px: no horizontal page scroll.
      await page.setViewportSize({ width: 375, height: 812 });
      await fitsTheWindow(page, "the Files tab at 375 px");
      await axe(page, "project files at 375 px");
      await screenshot(page, "project-files-375");
      session.check();
    } finally {
      await session.close();
      await host.close();
    }
  },
);
