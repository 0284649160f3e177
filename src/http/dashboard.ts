/**
 * Serving the dashboard (spec/dashboard.md §1): `/assets/<hashed name>`
 * from `web/dist/assets` with `Cache-Control: public, max-age=31536000,
 * immutable` (an unknown name is 404), and `index.html` for every client
 * route with `no-cache`; the API reference (`docs.html`, spec/server.md §13)
 * at `/docs`, also `no-cache`. The security headers middleware adds the
 * strict CSP to the HTML (`/docs` included). Without a build, these
 * documents answer 503 with the command that builds it.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { join } from "node:path";
import { ROUTES } from "../../web/app/routes.ts";
import { AppError } from "../errors.ts";
import { describe, type Operation } from "./openapi.ts";
import type { AppEnv } from "./types.ts";

/** Hono paths of the client routes (`:param` kept). */
export const CLIENT_PATHS: readonly string[] = [...new Set(ROUTES.map((route) => route.pattern))];
/** {@link CLIENT_PATHS} split into segments once (the auth gate asks on every request). */
const CLIENT_PARTS = CLIENT_PATHS.map((pattern) => pattern.split("/").filter(Boolean));

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  map: "application/json; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  woff2: "font/woff2",
};

interface Manifest {
  assets: Record<string, string>;
  sizes: Record<string, number>;
}

/** Whether `path` is a client route (for the public list of the auth gate). */
export function isClientRoute(path: string): boolean {
  const have = path.split("/").filter(Boolean);
  return CLIENT_PARTS.some((want) =>
    want.length === have.length &&
    want.every((part, i) =>
      part.startsWith(":") ? /^[A-Za-z0-9_-]{1,100}$/.test(have[i]!) : part === have[i]
    )
  );
}

/**
 * Whether a request is a browser asking for a page outside the API: a `GET` or `HEAD` that
 * accepts `text/html`, on a path not under `/api`. When no route has its path, it gets the
 * dashboard's `index.html` (spec/server.md §2), whose router shows "Not found" for a mistyped
 * address; the page is public, as every client route is.
 */
export function isPageRequest(method: string, path: string, accept: string | undefined): boolean {
  return (method === "GET" || method === "HEAD") && !/^\/api(\/|$)/.test(path) &&
    (accept ?? "").includes("text/html");
}

/** The dashboard: its routes, and its `index.html` for page requests no route has. */
export interface Dashboard {
  routes: OpenAPIHono<AppEnv>;
  /** `index.html` with `no-cache` (503 with the build command when it is not built). */
  index(c: Context<AppEnv>): Promise<Response>;
}

/** The dashboard; `distDir` is `web/dist`. */
export function createDashboard(options: { distDir: string }): Dashboard {
  const app = new OpenAPIHono<AppEnv>();
  let manifest: { value: Manifest | null; readAt: number } | null = null;
  async function read(): Promise<Manifest | null> {
    // Re-read at most every 2 s, so a rebuild is picked up without a restart.
    if (manifest && Date.now() - manifest.readAt < 2_000) return manifest.value;
    let value: Manifest | null = null;
    try {
      value = JSON.parse(await Deno.readTextFile(join(options.distDir, "manifest.json")));
    } catch {
      value = null;
    }
    manifest = { value, readAt: Date.now() };
    return value;
  }

  const operations: Operation[] = [
    {
      method: "get",
      path: "/assets/:name",
      summary: "A hashed dashboard asset (cached for a year, immutable)",
      tags: ["dashboard"],
      role: "public",
      responses: { 200: { description: "The file" } },
    },
    {
      method: "get",
      path: "/favicon.ico",
      summary: "No icon (204)",
      tags: ["dashboard"],
      role: "public",
      responses: { 204: { description: "No content" } },
    },
    {
      method: "get",
      path: "/docs",
      summary: "The API reference: this document, browsable, with Try it (docs.html, no-cache)",
      tags: ["meta"],
      role: "public",
      responses: {
        200: { description: "HTML" },
        503: { description: "The dashboard is not built" },
      },
    },
    ...CLIENT_PATHS.map((path): Operation => ({
      method: "get",
      path,
      summary: "The dashboard (index.html, no-cache)",
      tags: ["dashboard"],
      role: "public",
      responses: {
        200: { description: "HTML" },
        503: { description: "The dashboard is not built" },
      },
    })),
  ];
  describe(app, operations);

  app.get("/assets/:name", async (c) => {
    const name = c.req.param("name");
    const known = await read();
    if (!known || !(name in known.sizes) || !/^[A-Za-z0-9._-]+$/.test(name)) {
      throw new AppError("NOT_FOUND", "No such asset", { status: 404 });
    }
    const body = await Deno.readFile(join(options.distDir, "assets", name));
    return c.body(body, 200, {
      "content-type": TYPES[name.split(".").at(-1)!] ?? "application/octet-stream",
      "cache-control": "public, max-age=31536000, immutable",
    });
  });

  app.get("/favicon.ico", (c) => c.body(null, 204));

  /** A built document with `no-cache`, or the 503 page when there is no build. */
  async function page(c: Context<AppEnv>, file: string): Promise<Response> {
    const html = (await read())
      ? await Deno.readTextFile(join(options.distDir, file)).catch(() => null)
      : null;
    if (html === null) {
      return c.html(
        "<!doctype html><title>Synth Mind</title><h1>The dashboard is not built</h1>" +
          "<p>Run <code>deno task build:web</code> (deno task start does it first). " +
          'The API works: see <a href="/openapi.json">/openapi.json</a>.</p>',
        503,
        { "cache-control": "no-cache" },
      );
    }
    return c.html(html, 200, { "cache-control": "no-cache" });
  }

  const index = (c: Context<AppEnv>) => page(c, "index.html");
  app.get("/docs", (c) => page(c, "docs.html"));
  for (const path of CLIENT_PATHS) app.get(path, index);
  return { routes: app, index };
}
