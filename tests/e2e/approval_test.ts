/**
 * Tool approvals in the browser (spec/dashboard.md §8 item 5): a risky
 * call shows a card with Approve and Deny; Approve leads to "succeeded"
 * from `tool.run`, Deny to "denied", and no answer within the approval
 * timeout to "Expired: denied". The Tools page lists the runs.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { axe, E2E, e2eServer, fitsTheWindow, openPage, screenshot } from "./helpers.ts";

// One long unbroken line: the runs table must wrap it, not widen the page.
const write = (path: string) => ({
  reply: {
    toolCalls: [{ name: "file_write", args: { path, content: `hello-${"x".repeat(300)}` } }],
  },
});

/** Waits for a finished reply with exactly this text. */
async function reply(page: Page, text: string) {
  await page.locator("article.assistant sm-markdown p").filter({
    hasText: new RegExp(`^${text.replace(".", "\\.")}$`),
  })
    .waitFor();
}

async function ask(page: Page, text: string) {
  await page.getByRole("textbox", { name: "Message" }).fill(text);
  await page.getByRole("button", { name: "Send" }).click();
}

Deno.test(
  "approve, deny and expiry of a risky tool call from the chat, then the Tools page",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    fake.script({
      reply: [write("a.txt"), write("b.txt"), write("c.txt")],
      tool_loop: [
        { reply: { text: "Written." } },
        { reply: { text: "Not written." } },
        { reply: { text: "Nobody answered." } },
      ],
    });
    const { host, url } = await e2eServer(fake, {
      config: { tools: { approval: { timeoutMs: 2_000 } } },
    });
    const session = await openPage(`${url}/chat`);
    const { page } = session;
    const card = (n: number) => page.locator("sm-tool-card").nth(n);
    try {
      await page.getByRole("heading", { name: "Chat" }).waitFor();

      await ask(page, "Write a.txt");
      await card(0).getByRole("button", { name: "Approve" }).waitFor();
      await card(0).getByRole("button", { name: "Deny" }).waitFor();
      await axe(page, "chat with a tool card waiting for approval");
      await screenshot(page, "approval-1280");
      await card(0).getByRole("button", { name: "Approve" }).click();
      await card(0).locator("[data-status=succeeded]").waitFor();
      await reply(page, "Written.");

      await ask(page, "Write b.txt");
      await card(1).getByRole("button", { name: "Deny" }).click();
      await card(1).locator("[data-status=denied]").waitFor();
      await reply(page, "Not written.");

      await ask(page, "Write c.txt");
      await card(2).getByRole("button", { name: "Approve" }).waitFor();
      await host.clock.untilTimer((ms) => ms === 2_000);
      await host.clock.tick(2_000);
      await card(2).getByText("Expired: denied").waitFor();
      assert.equal(await card(2).getByRole("button", { name: "Approve" }).count(), 0);

      await page.getByRole("link", { name: "Tools" }).click();
      await page.getByRole("heading", { name: "Tools" }).waitFor();
      await page.getByText("Nothing is waiting for a decision.").waitFor();
      const rows = page.locator("tr[data-run]");
      assert.equal(await rows.count(), 3);
      const statuses = await rows.locator("td[data-label=Status]").allTextContents();
      assert.deepEqual(statuses.map((s) => s.split(" ")[0]).sort(), [
        "denied",
        "expired",
        "succeeded",
      ]);
      // Whose runs they are, and who decided: the signed-in user asked for all three, approved
      // one and denied one; nobody decided the expired one.
      const askers = await rows.locator("td[data-label='Asked by']").allTextContents();
      assert.deepEqual(askers.map((text) => text.replace(/\s+/g, " ").trim()), [
        "you via mind",
        "you via mind",
        "you via mind",
      ]);
      assert.deepEqual(statuses.map((s) => s.replace(/\s+/g, " ").trim()).sort(), [
        "denied (by you)",
        "expired",
        "succeeded (approved by you)",
      ]);
      await axe(page, "tools");
      await fitsTheWindow(page, "tools at 1280 px");
      await screenshot(page, "tools-1280");
      await page.setViewportSize({ width: 375, height: 812 });
      await fitsTheWindow(page, "tools at 375 px");
      await screenshot(page, "tools-375");
      session.check();
    } finally {
      await session.close();
      await host.close();
    }
  },
);
