/**
 * The router: a pure function from a URL and the auth state to the page to
 * show, its parameters and its title (spec/dashboard.md §3). Patterns are
 * matched segment by segment (`:name` captures one segment); unauthenticated
 * users go to `/login?next=…`, or to `/setup` while setup is required.
 *
 * @module
 */
import { isInternalPath } from "../lib/format.ts";
import { type PageName, ROUTES } from "./routes.ts";

/** Where a URL leads. */
export type Resolution =
  | { kind: "page"; page: PageName; params: Record<string, string>; title: string }
  | { kind: "redirect"; to: string }
  | { kind: "not_found"; title: string };

/** What the router needs to know about the user. */
export interface RouteAuth {
  status: "unknown" | "setup" | "anonymous" | "signed_in";
  role: "viewer" | "operator" | "admin" | null;
}

function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/").filter(Boolean);
  const have = path.split("/").filter(Boolean);
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const part = want[i]!;
    if (part.startsWith(":")) {
      if (!/^[A-Za-z0-9_-]{1,100}$/.test(have[i]!)) return null;
      params[part.slice(1)] = have[i]!;
    } else if (part !== have[i]) return null;
  }
  return params;
}

/** A safe `next` target: an internal path only (see {@link isInternalPath}), else `/`. */
export function safeNext(next: string | null): string {
  return next && isInternalPath(next) ? next : "/";
}

/** Resolves `url` (path and query) for the user. */
export function resolveRoute(url: URL, auth: RouteAuth): Resolution {
  const path = url.pathname.replace(/\/+$/, "") || "/";
  let found: { page: PageName; params: Record<string, string>; title: string } | null = null;
  for (const route of ROUTES) {
    const params = match(route.pattern, path);
    if (params) {
      found = { page: route.page, params, title: route.title };
      break;
    }
  }
  if (!found) return { kind: "not_found", title: "Not found" };
  const authPage = found.page === "login" || found.page === "setup";
  if (auth.status === "setup") {
    return found.page === "setup" ? { kind: "page", ...found } : { kind: "redirect", to: "/setup" };
  }
  if (auth.status === "anonymous") {
    if (found.page === "login") return { kind: "page", ...found };
    // Setup is over for good: signing in is what is left, with nowhere to go back to.
    if (found.page === "setup") return { kind: "redirect", to: "/login" };
    return { kind: "redirect", to: `/login?next=${encodeURIComponent(path + url.search)}` };
  }
  if (auth.status === "signed_in") {
    if (authPage) return { kind: "redirect", to: safeNext(url.searchParams.get("next")) };
    if (found.page.startsWith("admin-") && auth.role !== "admin") {
      return { kind: "not_found", title: "Not found" };
    }
  }
  return { kind: "page", ...found };
}
