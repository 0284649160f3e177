/**
 * First-run setup, sign-in and roles in the browser (spec/dashboard.md §8
 * items 2, 3 and 13): a fresh server leads to /setup; a wrong setup token
 * is reported on its field; the printed token creates the admin, who lands
 * in Chat; a reload keeps the login through the refresh cookie and no token
 * is stored where scripts can read it; sign-out leads to /login, and a load
 * after it asks for no refresh; a wrong
 * password gets the generic message; a viewer sees no Admin.
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { axe, E2E, e2eServer, fitsTheWindow, openPage, screenshot } from "./helpers.ts";

const PASSWORD = "correct horse battery";
const AUTH = { auth: { enabled: true, password: { scryptLogN: 14 } } };

Deno.test(
  "setup, sign-in, reload, sign-out and a viewer without Admin, in the browser",
  E2E,
  async () => {
    await using fake = await startFakeLlm();
    const { host, url } = await e2eServer(fake, { config: AUTH });
    const session = await openPage(`${url}/`);
    const { page } = session;
    try {
      await page.getByRole("heading", { name: "First-run setup" }).waitFor();
      assert.equal(new URL(page.url()).pathname, "/setup");
      await axe(page, "setup");
      await screenshot(page, "setup-1280");
      await page.setViewportSize({ width: 375, height: 812 });
      await fitsTheWindow(page, "setup at 375 px");
      await screenshot(page, "setup-375");
      await page.setViewportSize({ width: 1280, height: 800 });

      const token = page.getByRole("textbox", { name: "Setup token" });
      await token.fill("not-the-token");
      await page.getByRole("textbox", { name: "Username" }).fill("admin");
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await page.getByLabel("Confirm password").fill(PASSWORD);
      await page.getByRole("button", { name: "Create administrator" }).click();
      await page.locator("#form-error").waitFor();
      assert.equal(
        await token.getAttribute("aria-invalid"),
        "true",
        "the error sits at the token field",
      );

      await token.fill(host.kernel.setupToken!);
      await page.getByRole("button", { name: "Create administrator" }).click();
      await page.getByRole("heading", { name: "Chat" }).waitFor();
      await page.getByRole("link", { name: "Admin" }).waitFor();

      const stored = await page.evaluate(() => {
        // deno-lint-ignore no-explicit-any
        const g = globalThis as any;
        return JSON.stringify({ local: { ...g.localStorage }, session: { ...g.sessionStorage } });
      });
      assert.doesNotMatch(stored, /eyJ/, "no token in localStorage or sessionStorage");

      await page.reload();
      await page.getByRole("heading", { name: "Chat" }).waitFor();
      await page.goto(`${url}/setup`);
      await page.getByRole("heading", { name: "Chat" }).waitFor();

      // On a phone the bottom nav must not cover Sign out (a covered button is not clickable).
      await page.setViewportSize({ width: 375, height: 812 });
      await page.getByRole("button", { name: "Sign out" }).click({ timeout: 5_000 });
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      // The sign-out removed the refresh cookie: a new load asks for no refresh bound to fail.
      const refreshes: string[] = [];
      page.on("request", (request) => {
        if (new URL(request.url()).pathname === "/api/auth/refresh") refreshes.push(request.url());
      });
      await page.reload();
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      assert.deepEqual(refreshes, [], "no refresh without the cookie");
      await page.setViewportSize({ width: 1280, height: 800 });
      await axe(page, "login");
      await screenshot(page, "login-1280");
      await page.setViewportSize({ width: 375, height: 812 });
      await fitsTheWindow(page, "login at 375 px");
      await screenshot(page, "login-375");
      await page.setViewportSize({ width: 1280, height: 800 });
      assert.equal(new URL(page.url()).pathname, "/login");
      await page.getByRole("textbox", { name: "Username" }).fill("admin");
      await page.getByLabel("Password", { exact: true }).fill("wrong password!!");
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByText("Wrong username or password").waitFor();
      await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Chat" }).waitFor();
      await axe(page, "login → chat");

      // A viewer: no Admin nav, the admin page is not there, the admin API refuses.
      const login = await fetch(`${url}/api/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: "admin", password: PASSWORD }),
      }).then((response) => response.json());
      const created = await fetch(`${url}/api/users`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${login.access_token}`,
        },
        body: JSON.stringify({ username: "vera", password: PASSWORD, role: "viewer" }),
      });
      assert.equal(created.status, 201);
      await created.body?.cancel();
      const viewer = await openPage(`${url}/login`);
      try {
        await viewer.page.getByRole("textbox", { name: "Username" }).fill("vera");
        await viewer.page.getByLabel("Password", { exact: true }).fill(PASSWORD);
        await viewer.page.getByRole("button", { name: "Sign in" }).click();
        await viewer.page.getByRole("heading", { name: "Chat" }).waitFor();
        assert.equal(await viewer.page.getByRole("link", { name: "Admin" }).count(), 0);
        // The message box says what a viewer can do with it before anything fails.
        await viewer.page.getByText("You are a viewer: you can read and run the commands")
          .waitFor();
        await viewer.page.goto(`${url}/admin/users`);
        await viewer.page.getByRole("heading", { name: "Not found" }).waitFor();
        // A mistyped address is the dashboard's Not found too, not the API's JSON.
        await viewer.page.goto(`${url}/timelin`);
        await viewer.page.getByRole("heading", { name: "Not found" }).waitFor();
        await viewer.page.getByText("There is no page at this address that you can open").waitFor();
        const viewerLogin = await fetch(`${url}/api/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: "vera", password: PASSWORD }),
        }).then((response) => response.json());
        const users = await fetch(`${url}/api/users`, {
          headers: { authorization: `Bearer ${viewerLogin.access_token}` },
        });
        assert.equal(users.status, 403);
        await users.body?.cancel();
        viewer.check();
      } finally {
        await viewer.close();
      }
      session.check();
    } finally {
      await session.close();
      await host.close();
    }
  },
);
