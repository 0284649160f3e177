/**
 * The browser test harness (spec/dashboard.md §7): headless Chromium
 * through playwright-core against the real server (the kernel listening on
 * 127.0.0.1 with a temporary data directory and the wire-level fake LLM).
 * Every page fails its test on a page error or a CSP violation; axe-core
 * checks accessibility; screenshots land in `tests/e2e/artifacts/`.
 * Without Chromium the tests are skipped with one printed line, unless
 * `CI=true`, where that fails the run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import axeSource from "axe-core/axe.min.js" with { type: "text" };
import type { AnyPlugin } from "@synth/kernel";
import type { TestHost } from "@synth/testing";
import { buildWeb } from "../../web/build.ts";
import type { FakeLlm } from "../fakes/llm/mod.ts";
import { mindHost } from "../mind/helpers.ts";

const CHROME = Deno.env.get("CHROME_PATH") ?? "/usr/bin/chromium";
const hasChrome = await Deno.stat(CHROME).then((info) => info.isFile, () => false);
const SKIP_LINE = `dashboard e2e skipped: no Chromium at ${CHROME} (apt-get install chromium)`;

if (!hasChrome) {
  if (Deno.env.get("CI") === "true") throw new Error(SKIP_LINE);
  // deno-lint-ignore no-console
  console.log(SKIP_LINE);
}

/** Options for `Deno.test` of a browser test: ignored without Chromium. */
export const E2E = { ignore: !hasChrome, sanitizeResources: false, sanitizeOps: false } as const;

export const ARTIFACTS = join(Deno.cwd(), "tests", "e2e", "artifacts");

let built: Promise<unknown> | null = null;
/** Builds the dashboard once per test process. */
export function ensureBuilt(): Promise<unknown> {
  built ??= buildWeb();
  return built;
}

let browser: Promise<Browser> | null = null;
let chromeProcess: Deno.ChildProcess | null = null;
/**
 * One browser per test process. Chromium is started here (its profile in
 * the test data folder) and driven over CDP, so playwright-core needs no
 * access beyond the test permission set (no temp folders, no home).
 */
export function launch(): Promise<Browser> {
  browser ??= (async () => {
    const profile = await Deno.makeTempDir({
      dir: join(Deno.cwd(), "data", ".test"),
      prefix: "chrome-",
    });
    chromeProcess = new Deno.Command(CHROME, {
      args: [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--remote-debugging-port=0",
        `--user-data-dir=${profile}`,
        "about:blank",
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const reader = chromeProcess.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`Chromium exited before it listened: ${seen.slice(-500)}`);
      seen += value;
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(seen);
      if (match) {
        // Keep draining stderr so Chromium never blocks on a full pipe.
        void (async () => {
          while (!(await reader.read()).done) { /* drain */ }
        })().catch(() => {});
        // playwright-core keeps its artifacts in os.tmpdir(): inside the test data folder.
        Deno.env.set("TMPDIR", profile);
        // Its WSL probe reads /proc paths Deno grants only with -A; this variable defers it.
        Deno.env.set("__IS_WSL_TEST__", "1");
        const { chromium } = await import("playwright-core");
        return await chromium.connectOverCDP(match[1]!);
      }
    }
  })();
  return browser;
}

/** A server for a browser test: the kernel listening on a free port. */
export async function e2eServer(
  fake: FakeLlm,
  options: {
    config?: Record<string, unknown>;
    plugins?: AnyPlugin[];
    /** Keep data here (a restart test); default a fresh folder removed on close. */
    dataDir?: string;
    /** Listen on this port (a restarted server); default a free one. */
    port?: number;
  } = {},
): Promise<{ host: TestHost; url: string }> {
  await ensureBuilt();
  const host = await mindHost(fake, {
    ...(options.plugins ? { plugins: options.plugins } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    config: options.config ?? {},
  });
  const server = host.listen(options.port ? { port: options.port } : {});
  return { host, url: server.url };
}

/** A page that records page errors and CSP violations; `check()` asserts there were none. */
export async function openPage(
  url: string,
  options: { width?: number; height?: number; dark?: boolean; phone?: boolean } = {},
): Promise<{ page: Page; context: BrowserContext; check(): void; close(): Promise<void> }> {
  const context = await (await launch()).newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
    colorScheme: options.dark ? "dark" : "light",
    // A phone: touch, and the mobile layout's own form controls (a picker sizes to its options).
    ...(options.phone ? { isMobile: true, hasTouch: true } : {}),
  });
  const page = await context.newPage();
  const errors: string[] = [];
  // The browser's own errors and warnings, kept next to the last screenshot for a failure's reader.
  const browserLog: string[] = [];
  page.on("pageerror", (error) => {
    errors.push(`page error: ${error.message}`);
    browserLog.push(`pageerror: ${error.stack ?? error.message}`);
  });
  page.on(
    "requestfailed",
    (request) =>
      browserLog.push(`request failed: ${request.url()} (${request.failure()?.errorText ?? "?"})`),
  );
  // The servers under test listen on 127.0.0.1: anything else is a request to another origin.
  page.on("request", (request) => {
    const target = new URL(request.url());
    if (/^(https?|wss?):$/.test(target.protocol) && target.hostname !== "127.0.0.1") {
      errors.push(`request to another origin: ${request.url()}`);
    }
  });
  page.on("console", (message) => {
    const text = message.text();
    if (message.type() === "error" || message.type() === "warning") {
      browserLog.push(`${message.type()}: ${text}`);
    }
    if (/Content Security Policy|Refused to (load|execute|apply)/i.test(text)) {
      errors.push(`CSP: ${text}`);
    }
  });
  await page.goto(url);
  return {
    page,
    context,
    check() {
      assert.deepEqual(errors, [], "no page errors, CSP violations or requests to other origins");
    },
    /** Saves a last screenshot (also after a failure: tests close in `finally`), then closes. */
    async close() {
      try {
        const path =
          new URL(page.url()).pathname.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "") ||
          "root";
        const name = `last-${path}-${page.viewportSize()?.width ?? 0}`;
        await screenshot(page, name);
        if (browserLog.length > 0) {
          await Deno.writeTextFile(join(ARTIFACTS, `${name}.log`), browserLog.join("\n") + "\n");
        }
      } catch {
        // A page that never loaded has nothing to show.
      }
      await context.close();
    },
  };
}

/** Runs axe-core on the page; serious or critical violations fail. */
export async function axe(page: Page, label: string): Promise<void> {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // deno-lint-ignore no-explicit-any
    const g = globalThis as any;
    const run = await g.axe.run(g.document, { resultTypes: ["violations"] });
    // deno-lint-ignore no-explicit-any
    return run.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.length,
      help: v.help,
    }));
  }) as Array<{ id: string; impact: string; nodes: number; help: string }>;
  const bad = result.filter((violation) =>
    violation.impact === "serious" || violation.impact === "critical"
  );
  assert.deepEqual(bad, [], `axe on ${label}`);
}

/** Saves `tests/e2e/artifacts/<name>.png`. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * No horizontal page scroll, and on the dashboard the window itself never scrolls down (it fills
 * the window; pages scroll inside it, docs/dashboard.md).
 */
export async function fitsTheWindow(page: Page, label: string): Promise<void> {
  const below = await page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const document = (globalThis as any).document;
    // The dashboard's pages only: /docs is a document that scrolls as one.
    if (!document.querySelector("sm-app")) return 0;
    return document.documentElement.scrollHeight - document.documentElement.clientHeight;
  });
  assert.ok(below <= 0, `${label}: the window itself scrolls down by ${below} px`);
  const overflow = await page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const document = (globalThis as any).document;
    const root = document.documentElement;
    // The page itself, and the app's main region, which scrolls on its own.
    const main = document.querySelector("sm-app")?.shadowRoot?.querySelector("#main");
    // Nor may the page's own parts reach past the window where nothing scrolls to them (a grid
    // column widened by a long option clips the page's right side).
    const page = main
      ? [...main.children].find((el: { tagName: string }) => el.tagName.startsWith("PAGE-"))
      : null;
    const parts = [...(page?.shadowRoot?.children ?? [])] as Array<
      { getBoundingClientRect(): { right: number; width: number } }
    >;
    const width = (globalThis as unknown as { innerWidth: number }).innerWidth;
    const clipped = Math.max(
      0,
      ...parts.map((part) => part.getBoundingClientRect())
        .filter((box) => box.width > 0).map((box) => Math.ceil(box.right - width)),
    );
    return Math.max(
      root.scrollWidth - root.clientWidth,
      main ? main.scrollWidth - main.clientWidth : 0,
      clipped,
    );
  });
  assert.ok(overflow <= 0, `${label} scrolls horizontally, or is cut off, by ${overflow} px`);
}

/** Ends the shared browser when the test module unloads. */
globalThis.addEventListener("unload", () => {
  try {
    chromeProcess?.kill("SIGKILL");
  } catch { /* gone */ }
});
