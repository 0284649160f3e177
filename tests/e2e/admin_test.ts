/**
 * The admin pages in the browser (spec/dashboard.md §5.7, §8 item 13): the
 * five sections (axe and a screenshot each; users also at 375 px without
 * horizontal scroll); a user is created and given another role, and the
 * last-admin refusal is shown as the server words it; an API key's secret
 * is shown once and is gone from the DOM after its dialog closes; an
 * invalid CIDR is refused with a message before any request is sent.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { axe, E2E, e2eServer, fitsTheWindow, openPage, screenshot } from "./helpers.ts";

const PASSWORD = "correct horse battery";
const AUTH = {
  auth: { enabled: true, password: { scryptLogN: 14 } },
  // A third-party plugin, for the Plugins section.
  plugins: [{ id: "dice", from: "./examples/plugins/dice/mod.ts", config: { maxSides: 100 } }],
};

/** Every text and form value in the document, shadow roots included. */
function deepText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const parts: string[] = [];
    // deno-lint-ignore no-explicit-any
    const walk = (root: any) => {
      for (const element of root.querySelectorAll("*")) {
        if (element.shadowRoot) walk(element.shadowRoot);
        if ("value" in element && typeof element.value === "string") parts.push(element.value);
      }
      parts.push(root.textContent ?? "");
    };
    // deno-lint-ignore no-explicit-any
    walk((globalThis as any).document);
    return parts.join("\n");
  });
}

/** The label of the focused element, through shadow roots. */
function focusedLabel(page: Page): Promise<string | null> {
  return page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    let active = (globalThis as any).document.activeElement;
    while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
    return active?.getAttribute("aria-label") ?? active?.textContent ?? null;
  });
}

/** Elements of the admin page that reach past the viewport's right edge. */
function overflowing(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const g = globalThis as any;
    const width = g.document.documentElement.clientWidth;
    const out: string[] = [];
    // deno-lint-ignore no-explicit-any
    const walk = (root: any) => {
      for (const element of root.querySelectorAll("*")) {
        if (element.getBoundingClientRect().right > width + 0.5) out.push(element.localName);
        if (element.shadowRoot) walk(element.shadowRoot);
      }
    };
    walk(g.document.querySelector("sm-app").shadowRoot.querySelector("page-admin").shadowRoot);
    return out;
  });
}

async function section(page: Page, link: string, heading: string) {
  await page.getByRole("navigation", { name: "Admin sections" }).getByRole("link", { name: link })
    .click();
  await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
}

Deno.test(
  "admin: the six sections, a user and its role, a key shown once, a CIDR refused before sending",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    const { host, url } = await e2eServer(fake, { config: AUTH });
    const session = await openPage(`${url}/`);
    const { page } = session;
    const firewallPosts: string[] = [];
    page.on("request", (request) => {
      if (
        request.method() === "POST" && new URL(request.url()).pathname === "/api/firewall/rules"
      ) {
        firewallPosts.push(request.postData() ?? "");
      }
    });
    try {
      await page.getByRole("heading", { name: "First-run setup" }).waitFor();
      await page.getByRole("textbox", { name: "Setup token" }).fill(host.kernel.setupToken!);
      await page.getByRole("textbox", { name: "Username" }).fill("admin");
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await page.getByLabel("Confirm password").fill(PASSWORD);
      await page.getByRole("button", { name: "Create administrator" }).click();
      await page.getByRole("heading", { name: "Chat" }).waitFor();

      // Users.
      await page.getByRole("link", { name: "Admin" }).click();
      await page.getByRole("heading", { name: "Users", level: 1 }).waitFor();
      assert.equal(new URL(page.url()).pathname, "/admin/users");
      await page.locator("tr[data-user=admin]").waitFor();
      await axe(page, "admin users");
      await screenshot(page, "admin-users-1280");

      await page.getByRole("textbox", { name: "Username" }).fill("olga");
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await page.getByLabel("Role", { exact: true }).selectOption("viewer");
      await page.getByRole("button", { name: "Create user" }).click();
      const olga = page.locator("tr[data-user=olga]");
      await olga.locator("td[data-label=Role]", { hasText: "viewer" }).waitFor();

      await page.getByRole("button", { name: "Change role of olga" }).click();
      const roleDialog = page.getByRole("dialog", { name: "Change role of olga" });
      await roleDialog.waitFor();
      await roleDialog.getByLabel("Role").selectOption("operator");
      await roleDialog.getByRole("button", { name: "Save role" }).click();
      await olga.locator("td[data-label=Role]", { hasText: "operator" }).waitFor();
      await roleDialog.waitFor({ state: "hidden" });
      assert.equal(await focusedLabel(page), "Change role of olga", "focus returns to the opener");

      await page.getByRole("button", { name: "Deactivate olga" }).click();
      await olga.locator("td[data-label=Active]", { hasText: "no (deactivated)" }).waitFor();
      await page.getByRole("button", { name: "Reactivate olga" }).click();
      await olga.locator("td[data-label=Active]", { hasText: "yes" }).waitFor();

      // The server refuses to demote the last administrator; its words are shown.
      await page.getByRole("button", { name: "Change role of admin" }).click();
      const adminDialog = page.getByRole("dialog", { name: "Change role of admin" });
      await adminDialog.getByLabel("Role").selectOption("viewer");
      await adminDialog.getByRole("button", { name: "Save role" }).click();
      await adminDialog.getByText(
        "This is the last active administrator; make another user an admin first",
        { exact: true },
      ).waitFor();
      await page.keyboard.press("Escape");
      await adminDialog.waitFor({ state: "hidden" });
      assert.equal(await focusedLabel(page), "Change role of admin");

      // API keys: the secret once.
      await section(page, "API keys", "API keys");
      await page.getByText("No API keys yet.").waitFor();
      await page.getByRole("textbox", { name: "Name" }).fill("ci runner");
      await page.getByRole("button", { name: "Create key" }).click();
      const secretDialog = page.getByRole("dialog", { name: "Key ci runner created" });
      await secretDialog.waitFor();
      await secretDialog.getByText("it is shown only once").waitFor();
      const secret = (await secretDialog.locator("[data-secret]").textContent())?.trim() ?? "";
      assert.match(secret, /^smk_[A-Za-z0-9]{8}_\S+$/);
      assert.ok((await deepText(page)).includes(secret));
      await screenshot(page, "admin-key-secret-1280");
      await secretDialog.getByRole("button", { name: "Done" }).click();
      await secretDialog.waitFor({ state: "hidden" });
      await page.locator("tr", { hasText: "ci runner" }).waitFor();
      assert.ok(!(await deepText(page)).includes(secret), "the secret has left the DOM");
      assert.ok(
        // The random part (base64url: it may hold "_" itself) follows `smk_<prefix>_`.
        !(await deepText(page)).includes(secret.split("_").slice(2).join("_")),
        "no part of the secret stays",
      );
      assert.ok(!(await deepText(page)).includes(secret.slice(-12)), "nor its last 12 characters");
      await axe(page, "admin keys");
      await screenshot(page, "admin-keys-1280");

      await page.getByRole("button", { name: "Revoke key ci runner" }).click();
      const revoke = page.getByRole("dialog", { name: "Revoke key ci runner?" });
      await revoke.getByRole("button", { name: "Revoke" }).click();
      await page.getByText("No API keys yet.").waitFor();

      // Firewall: invalid ranges never leave the browser.
      await section(page, "Firewall", "Firewall");
      const cidr = page.getByRole("textbox", { name: "Address or CIDR range" });
      await cidr.fill("10.0.0.1/8");
      await page.getByRole("button", { name: "Add rule" }).click();
      await page.getByText("has host bits set; the network is 10.0.0.0/8").waitFor();
      assert.equal(await cidr.getAttribute("aria-invalid"), "true");
      await page.getByRole("button", { name: "Use 10.0.0.0/8" }).click();
      assert.equal(await cidr.inputValue(), "10.0.0.0/8");
      await cidr.fill("nonsense");
      await page.getByRole("button", { name: "Add rule" }).click();
      await page.getByText('"nonsense" is not an IP address or CIDR range').waitFor();
      assert.deepEqual(firewallPosts, [], "no rule request was sent for invalid ranges");

      await cidr.fill("203.0.113.0/24");
      await page.getByRole("textbox", { name: "Note (optional)" }).fill("office");
      await page.getByRole("button", { name: "Add rule" }).click();
      await page.locator("tr", { hasText: "203.0.113.0/24" }).getByText("office").waitFor();
      assert.equal(firewallPosts.length, 1, "the valid range was sent, once");
      await axe(page, "admin firewall");
      await screenshot(page, "admin-firewall-1280");

      // Rate limits and the access log.
      await section(page, "Rate limits", "Rate limits");
      await page.locator("td[data-label=Tier]", { hasText: "chat" }).waitFor();
      await axe(page, "admin rate limits");
      await screenshot(page, "admin-rate-limits-1280");

      await section(page, "Access log", "Access log");
      await page.locator("td[data-label=Path]", { hasText: "/api/firewall/rules" }).first()
        .waitFor();
      await page.getByLabel("Method").selectOption("POST");
      await page.getByRole("textbox", { name: "Path starts with" }).fill("/api/users");
      await page.getByRole("button", { name: "Apply filters" }).click();
      await page.getByText("Lines 1–1 of 1").first().waitFor();
      const methods = await page.locator("td[data-label=Method]").allTextContents();
      assert.deepEqual(methods, ["POST"], "only the user creation matches");
      await axe(page, "admin access log");
      await screenshot(page, "admin-access-log-1280");

      // Plugins: the built-in ones and the configured third-party one, which restarts.
      await section(page, "Plugins", "Plugins");
      const dice = page.locator("tr[data-plugin=dice]");
      await dice.waitFor();
      assert.equal(await dice.getAttribute("data-state"), "running");
      assert.match(await dice.locator("td[data-label=Tools]").textContent() ?? "", /dice__roll/);
      assert.equal(
        (await page.locator("tr[data-plugin=memory] td[data-label=Source]").textContent())?.trim(),
        "built in",
      );
      await page.getByRole("button", { name: "Restart dice" }).click();
      await page.getByText("dice restarted: running").waitFor();
      await axe(page, "admin plugins");
      await screenshot(page, "admin-plugins-1280");

      // Users at 375 px.
      await page.setViewportSize({ width: 375, height: 812 });
      await section(page, "Users", "Users");
      await page.locator("tr[data-user=olga]").waitFor();
      await fitsTheWindow(page, "admin users at 375 px");
      assert.deepEqual(await overflowing(page), [], "nothing in the admin page is cut off");
      await screenshot(page, "admin-users-375");
      for (
        const [name, slug] of [
          ["API keys", "keys"],
          ["Firewall", "firewall"],
          ["Rate limits", "rate-limits"],
          ["Access log", "access-log"],
          ["Plugins", "plugins"],
        ] as const
      ) {
        await section(page, name, name);
        await fitsTheWindow(page, `admin ${slug} at 375 px`);
        assert.deepEqual(await overflowing(page), [], `nothing in admin ${slug} is cut off`);
        await screenshot(page, `admin-${slug}-375`);
      }
      session.check();
    } finally {
      await session.close();
      await host.close();
    }
  },
);
