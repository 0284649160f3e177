/**
 * The dashboard's client routes (spec/dashboard.md §3). The server answers
 * each with `index.html` and lists them as public; this is the one table.
 *
 * @module
 */

/** A page of the dashboard. */
export type PageName =
  | "login"
  | "setup"
  | "chat"
  | "mind"
  | "memory"
  | "projects"
  | "project"
  | "timeline"
  | "tools"
  | "admin-users"
  | "admin-keys"
  | "admin-firewall"
  | "admin-rate-limits"
  | "admin-access-log"
  | "admin-plugins";

/** Path patterns (`:param` segments) and their pages, in match order. */
export const ROUTES: ReadonlyArray<{ pattern: string; page: PageName; title: string }> = [
  { pattern: "/login", page: "login", title: "Sign in" },
  { pattern: "/setup", page: "setup", title: "First-run setup" },
  { pattern: "/", page: "chat", title: "Chat" },
  { pattern: "/chat", page: "chat", title: "Chat" },
  { pattern: "/chat/:threadId", page: "chat", title: "Chat" },
  { pattern: "/mind", page: "mind", title: "Mind" },
  { pattern: "/mind/memory", page: "memory", title: "Memory" },
  { pattern: "/projects", page: "projects", title: "Projects" },
  { pattern: "/projects/:id", page: "project", title: "Project" },
  { pattern: "/timeline", page: "timeline", title: "Timeline" },
  { pattern: "/tools", page: "tools", title: "Tools" },
  { pattern: "/admin/users", page: "admin-users", title: "Users" },
  { pattern: "/admin/keys", page: "admin-keys", title: "API keys" },
  { pattern: "/admin/firewall", page: "admin-firewall", title: "Firewall" },
  { pattern: "/admin/rate-limits", page: "admin-rate-limits", title: "Rate limits" },
  { pattern: "/admin/access-log", page: "admin-access-log", title: "Access log" },
  { pattern: "/admin/plugins", page: "admin-plugins", title: "Plugins" },
];
