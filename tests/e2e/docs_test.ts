/**
 * The API reference at `/docs` (issue 7; spec/server.md §13 and acceptance
 * 18): served from this origin under its CSP, with no third-party UI. In
 * Chromium against the real server it lists the operations with their
 * summaries, role and rate tier, filters them, shows schemas as trees,
 * "Try it" sends a request and shows status, headers and body; it fits
 * 375 px, passes axe and runs with no CSP violation and no page error —
 * also under the dashboard's strict CSP, without the docs' inline-style
 * allowance.
 * One test needs no browser: `/docs` answers HTML with the docs CSP.
 */
import assert from "node:assert/strict";
import { createTestHost } from "@synth/testing";
import { BUILTIN_PLUGINS } from "../../src/builtin_plugins.ts";
import { CSP, DOCS_CSP } from "../../src/http/guards.ts";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import {
  axe,
  E2E,
  e2eServer,
  ensureBuilt,
  fitsTheWindow,
  openPage,
  screenshot,
} from "./helpers.ts";

Deno.test("GET /docs answers the built reference as no-cache HTML with the docs CSP", async () => {
  await ensureBuilt();
  await using host = await createTestHost({ plugins: BUILTIN_PLUGINS });
  const response = await host.request("/docs");
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
  assert.equal(response.headers.get("cache-control"), "no-cache");
  assert.equal(response.headers.get("content-security-policy"), DOCS_CSP);
  const html = await response.text();
  assert.match(html, /<sm-docs-app>/);
  assert.doesNotMatch(html, /<script>|<style>|style=|https?:\/\//, "no inline code, no CDN");
  const assets = [...html.matchAll(/\/assets\/((?:docs|theme)\.[0-9a-f]{10}\.(?:js|css))/g)]
    .map((match) => match[1]!);
  assert.deepEqual(assets.map((name) => name.split(".")[0]).sort(), ["docs", "theme"]);
  for (const name of assets) {
    const asset = await host.request(`/assets/${name}`);
    assert.equal(asset.status, 200, name);
    assert.equal(asset.headers.get("cache-control"), "public, max-age=31536000, immutable");
    await asset.body?.cancel();
  }
  // The dashboard's own document keeps the strict policy.
  const dashboard = await host.request("/chat");
  assert.doesNotMatch(dashboard.headers.get("content-security-policy") ?? "", /unsafe-inline/);
  await dashboard.body?.cancel();
});

Deno.test(
  "/docs lists, filters and describes the operations, and Try it calls the API, in the browser",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    const { host, url } = await e2eServer(fake);
    const head = await fetch(`${url}/docs`);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-security-policy"), DOCS_CSP);
    await head.body?.cancel();
    const session = await openPage(`${url}/docs`);
    const { page } = session;
    try {
      await page.getByRole("heading", { name: /Synth Mind API/, level: 1 }).waitFor();
      const operation = (key: string) => page.locator(`sm-docs-operation[data-operation="${key}"]`);
      const live = operation("GET /health/live");
      const runs = operation("POST /api/tools/{name}/runs");
      await live.getByText("Liveness: the process answers").waitFor();
      await runs.getByText("Run a tool directly").waitFor();
      const total = await page.locator("sm-docs-operation").count();
      assert.ok(total > 50, `${total} operations listed`);
      await axe(page, "docs");
      await screenshot(page, "docs-1280");

      // The filter narrows the list, and says so.
      const filter = page.getByRole("searchbox", { name: "Filter operations" });
      await filter.fill("health/live");
      await page.getByText(`1 of ${total} operations`).waitFor();
      assert.equal(await page.locator("sm-docs-operation").count(), 1);
      await filter.fill("tools runs");
      await runs.waitFor();
      assert.equal(await live.count(), 0);
      await filter.fill("");
      await page.getByText(`${total} operations`, { exact: true }).waitFor();

      // An operation opened with the keyboard: role, tier, parameters, body and responses as trees.
      await runs.locator("summary").first().focus();
      await page.keyboard.press("Enter");
      await runs.getByText("minimum role: operator").waitFor();
      await runs.getByText("rate tier: chat").waitFor();
      await runs.getByRole("heading", { name: "Request body" }).waitFor();
      assert.deepEqual(
        await runs.locator("sm-docs-schema").first().locator("code.name").allTextContents(),
        ["args"],
        "the request body's tree",
      );
      // The 202 response's tree follows its $ref to ToolRun.
      await runs.getByText("(ToolRun)").waitFor();
      await runs.getByRole("button", { name: "Try it" }).click();
      const body = runs.getByRole("textbox", { name: /Request body/ });
      assert.deepEqual(JSON.parse(await body.inputValue()), { args: {} });
      await runs.getByRole("button", { name: "Send" }).click();
      await runs.getByRole("alert").getByText("Fill in the path parameter name").waitFor();
      const name = runs.getByRole("textbox", { name: /^name/ });
      assert.equal(await name.getAttribute("aria-invalid"), "true");
      await name.fill("no_such_tool");
      await body.fill("{ not json");
      await runs.getByRole("button", { name: "Send" }).click();
      await runs.getByRole("alert").getByText(/The body is not JSON/).waitFor();
      await body.fill('{"args": {}}');
      await runs.getByRole("button", { name: "Send" }).click();
      await runs.locator("p.status[data-status='404']").waitFor();
      assert.match(await runs.locator("pre.body").textContent() ?? "", /"success": false/);

      // Try it on GET /health/live: status 200, the headers and the JSON body.
      await live.locator("summary").first().click();
      await live.getByRole("button", { name: "Try it" }).click();
      await live.getByRole("button", { name: "Send" }).click();
      await live.locator("p.status[data-status='200']").waitFor();
      assert.match(await live.locator("p.status").textContent() ?? "", /200/);
      const text = await live.locator("pre.body").textContent() ?? "";
      assert.equal(JSON.parse(text).status, "alive");
      assert.match(text, /\n {2}"status": "alive"/, "pretty JSON");
      await live.getByText(/^Response headers \(\d+\)$/).click();
      await live.getByText("content-type", { exact: true }).waitFor();
      await axe(page, "docs with Try it");
      await screenshot(page, "docs-try-1280");

      await page.setViewportSize({ width: 375, height: 812 });
      await fitsTheWindow(page, "docs at 375 px");
      await screenshot(page, "docs-375");
      session.check();
    } finally {
      await session.close();
    }

    // Dark, and under the dashboard's strict CSP: the reference needs no inline style at all.
    const dark = await openPage(`${url}/docs`, { width: 375, height: 812, dark: true });
    try {
      await dark.context.route(`${url}/docs`, async (route) => {
        const response = await route.fetch();
        await route.fulfill({
          response,
          headers: { ...response.headers(), "content-security-policy": CSP },
        });
      });
      await dark.page.reload();
      await dark.page.getByRole("heading", { name: /Synth Mind API/, level: 1 }).waitFor();
      await dark.page.locator('sm-docs-operation[data-operation="GET /health/live"] summary')
        .click();
      await dark.page.getByRole("button", { name: "Try it" }).click();
      await dark.page.getByRole("button", { name: "Send" }).click();
      await dark.page.locator("p.status[data-status='200']").waitFor();
      await fitsTheWindow(dark.page, "docs at 375 px, dark");
      const background = await dark.page.evaluate(() =>
        // deno-lint-ignore no-explicit-any
        (globalThis as any).getComputedStyle((globalThis as any).document.body).backgroundColor
      );
      assert.equal(background, "rgb(17, 20, 24)", "the dark tokens apply");
      await axe(dark.page, "docs, dark");
      await screenshot(dark.page, "docs-dark-375");
      dark.check();
    } finally {
      await dark.close();
      await host.close();
    }
  },
);
