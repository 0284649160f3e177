import assert from "node:assert/strict";
import { type Resolution, resolveRoute, type RouteAuth, safeNext } from "../../web/app/router.ts";

const ADMIN: RouteAuth = { status: "signed_in", role: "admin" };
const VIEWER: RouteAuth = { status: "signed_in", role: "viewer" };
const OPERATOR: RouteAuth = { status: "signed_in", role: "operator" };
const ANONYMOUS: RouteAuth = { status: "anonymous", role: null };
const SETUP: RouteAuth = { status: "setup", role: null };

function resolve(pathAndQuery: string, auth: RouteAuth = ADMIN): Resolution {
  return resolveRoute(new URL(pathAndQuery, "https://mind.example"), auth);
}

const ADMIN_PATHS = [
  "/admin/users",
  "/admin/keys",
  "/admin/firewall",
  "/admin/rate-limits",
  "/admin/access-log",
];

Deno.test("router maps every static route to its page and title", () => {
  const expected: Array<[string, string, string]> = [
    ["/", "chat", "Chat"],
    ["/chat", "chat", "Chat"],
    ["/mind", "mind", "Mind"],
    ["/mind/memory", "memory", "Memory"],
    ["/projects", "projects", "Projects"],
    ["/timeline", "timeline", "Timeline"],
    ["/tools", "tools", "Tools"],
    ["/admin/users", "admin-users", "Users"],
    ["/admin/keys", "admin-keys", "API keys"],
    ["/admin/firewall", "admin-firewall", "Firewall"],
    ["/admin/rate-limits", "admin-rate-limits", "Rate limits"],
    ["/admin/access-log", "admin-access-log", "Access log"],
  ];
  for (const [path, page, title] of expected) {
    assert.deepEqual(resolve(path), { kind: "page", page, params: {}, title }, path);
  }
});

Deno.test("router captures :params from one segment each", () => {
  assert.deepEqual(resolve("/chat/thr_01HZX8"), {
    kind: "page",
    page: "chat",
    params: { threadId: "thr_01HZX8" },
    title: "Chat",
  });
  assert.deepEqual(resolve("/projects/prj-7?tab=gantt"), {
    kind: "page",
    page: "project",
    params: { id: "prj-7" },
    title: "Project",
  });
});

Deno.test("router ignores a trailing slash", () => {
  assert.deepEqual(resolve("/tools/"), resolve("/tools"));
  assert.deepEqual(resolve("/chat/thr_1/"), resolve("/chat/thr_1"));
});

Deno.test("router answers not_found for unknown paths and malformed params", () => {
  for (
    const path of ["/nope", "/chat/thr_1/extra", "/chat/a.b", "/chat/%3Cscript%3E", "/admin"]
  ) {
    assert.deepEqual(resolve(path), { kind: "not_found", title: "Not found" }, path);
  }
  assert.equal(resolve(`/chat/${"x".repeat(101)}`).kind, "not_found");
});

Deno.test("router sends every page to /setup while setup is required", () => {
  for (const path of ["/", "/login", "/projects/prj_1", "/admin/users"]) {
    assert.deepEqual(resolve(path, SETUP), { kind: "redirect", to: "/setup" }, path);
  }
  assert.deepEqual(resolve("/setup", SETUP), {
    kind: "page",
    page: "setup",
    params: {},
    title: "First-run setup",
  });
});

Deno.test("router sends an anonymous user to /login with next = path and query", () => {
  const resolution = resolve("/projects/prj_1?tab=gantt&from=2025-05-01", ANONYMOUS);
  assert.equal(resolution.kind, "redirect");
  const to = new URL((resolution as { to: string }).to, "https://mind.example");
  assert.equal(to.pathname, "/login");
  assert.equal(to.searchParams.get("next"), "/projects/prj_1?tab=gantt&from=2025-05-01");
  assert.deepEqual(resolve("/", ANONYMOUS), { kind: "redirect", to: "/login?next=%2F" });
  assert.deepEqual(resolve("/admin/users", ANONYMOUS), {
    kind: "redirect",
    to: "/login?next=%2Fadmin%2Fusers",
  });
});

Deno.test("router sends an anonymous user on /setup, once setup is over, to /login with no next", () => {
  assert.deepEqual(resolve("/setup", ANONYMOUS), { kind: "redirect", to: "/login" });
});

Deno.test("router shows /login to an anonymous user", () => {
  assert.deepEqual(resolve("/login?next=%2Ftools", ANONYMOUS), {
    kind: "page",
    page: "login",
    params: {},
    title: "Sign in",
  });
});

Deno.test("router sends a signed-in user on /login to a safe next", () => {
  assert.deepEqual(resolve("/login?next=%2Fprojects%2Fprj_1%3Ftab%3Dgantt", VIEWER), {
    kind: "redirect",
    to: "/projects/prj_1?tab=gantt",
  });
  assert.deepEqual(resolve("/login", VIEWER), { kind: "redirect", to: "/" });
  assert.deepEqual(resolve("/setup?next=%2Ftools", VIEWER), { kind: "redirect", to: "/tools" });
});

Deno.test("router refuses a next that leaves the origin", () => {
  for (
    const next of [
      "//evil.example",
      "//evil.example/login",
      "http://evil.example",
      "https://evil.example/x",
      "/\\evil.example",
      "\\\\evil.example",
      "/%5Cevil.example",
      "/%09/evil.example",
      "/%0A/evil.example",
      "javascript:alert(1)",
      "evil.example",
    ]
  ) {
    const resolution = resolve(`/login?next=${next}`, VIEWER);
    assert.deepEqual(resolution, { kind: "redirect", to: "/" }, next);
  }
});

Deno.test("safeNext keeps internal paths and refuses the rest", () => {
  assert.equal(safeNext("/mind/memory?q=tea"), "/mind/memory?q=tea");
  assert.equal(safeNext(null), "/");
  assert.equal(safeNext(""), "/");
  assert.equal(safeNext("//evil.example"), "/");
  assert.equal(safeNext("/\\evil.example"), "/");
  assert.equal(safeNext("/\t/evil.example"), "/");
  assert.equal(safeNext("http://evil.example"), "/");
});

Deno.test("router hides admin pages from viewers and operators as not_found", () => {
  for (const auth of [VIEWER, OPERATOR]) {
    for (const path of ADMIN_PATHS) {
      assert.deepEqual(resolve(path, auth), { kind: "not_found", title: "Not found" }, path);
    }
  }
  for (const path of ADMIN_PATHS) assert.equal(resolve(path, ADMIN).kind, "page", path);
});

Deno.test("router shows ordinary pages to every signed-in role", () => {
  for (const auth of [VIEWER, OPERATOR, ADMIN]) {
    assert.equal(resolve("/tools", auth).kind, "page");
    assert.equal(resolve("/chat/thr_1", auth).kind, "page");
  }
});
