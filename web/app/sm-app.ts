/**
 * `<sm-app>` (spec/dashboard.md §3): the shell — skip link, navigation
 * (Admin for admins only), the page of the current route, the status bar
 * and toasts. It owns the store, the API client and the tab's one socket,
 * provides them through `@lit/context`, restores the login through the
 * refresh cookie, and routes with the History API (focus moves to the
 * page's `<h1>`, the title follows).
 *
 * @module
 */
import { ContextProvider } from "@lit/context";
import { css, html, LitElement, nothing, type TemplateResult } from "lit";
import { ApiClient, type Session } from "../api/client.ts";
import { SocketController } from "../controllers/socket_controller.ts";
import { Store } from "../state/store.ts";
import { shared } from "../theme/shared.ts";
import { type AppServices, servicesContext } from "./context.ts";
import { type Resolution, resolveRoute } from "./router.ts";
import "../components/sm-status-bar.ts";
import "../components/sm-toasts.ts";
import "../pages/page-login.ts";
import "../pages/page-chat.ts";
import "../pages/page-tools.ts";
import "../pages/page-pending.ts";

/** The notice code of a refresh waiting for the auth tier; cleared once the session is back. */
const REFRESH_WAIT = "AUTH_REFRESH_WAIT";
/**
 * Pages loaded on first use (their own chunks, so the main bundle stays
 * within its budget); the tag renders at once and upgrades when its module
 * has defined it.
 */
const LAZY: Record<string, () => Promise<unknown>> = {
  mind: () => import("../pages/page-mind.ts"),
  memory: () => import("../pages/page-memory.ts"),
  admin: () => import("../pages/page-admin.ts"),
  projects: () => import("../pages/page-projects.ts"),
  project: () => import("../pages/page-project.ts"),
  timeline: () => import("../pages/page-timeline.ts"),
};
/** Lazy pages whose module was asked for (a failed one stays: only a reload tries again). */
const requested = new Set<string>();

/** The nav; `more` items sit behind "More" in the bottom nav below 600 px (4 items plus More). */
const NAV: ReadonlyArray<{ href: string; label: string; admin?: boolean; more?: boolean }> = [
  { href: "/chat", label: "Chat" },
  { href: "/mind", label: "Mind" },
  { href: "/projects", label: "Projects" },
  { href: "/timeline", label: "Timeline", more: true },
  { href: "/tools", label: "Tools" },
  { href: "/admin/users", label: "Admin", admin: true, more: true },
];

/** A nav item's section: `/admin/users` stands for every `/admin/…` page. */
const sectionOf = (href: string) => `/${href.split("/")[1]}`;

/** The application shell. */
export class SmApp extends LitElement {
  static override properties = {
    resolution: { state: true },
    booted: { state: true },
    moreOpen: { state: true },
    unloaded: { state: true },
  };
  declare resolution: Resolution | null;
  declare booted: boolean;
  declare moreOpen: boolean;
  /** A lazily loaded page whose module could not be fetched, with the reason (else null). */
  declare unloaded: { name: string; reason: string } | null;
  readonly store = new Store();
  readonly api: ApiClient;
  readonly socket: SocketController;
  readonly services: AppServices;

  static override styles = [
    shared,
    css`
      /* The window's height exactly: a page scrolls inside #main (the Chat page inside its log),
        so the navigation, the composer and the status bar stay in view. */
      :host {
        display: grid;
        grid-template-rows: auto minmax(0, 1fr) auto;
        height: 100vh;
        height: 100dvh;
      }
      .skip {
        position: absolute;
        left: -9999px;
        top: 0;
      }
      .skip:focus {
        left: 8px;
        top: 8px;
        z-index: 20;
        background: var(--sm-surface);
        padding: 8px;
      }
      header {
        display: flex;
        gap: 12px;
        align-items: center;
        padding: 8px 12px;
        background: var(--sm-surface);
        border-bottom: 1px solid var(--sm-border);
      }
      header .brand {
        font-weight: 700;
      }
      nav ul {
        display: flex;
        gap: 4px;
        list-style: none;
        margin: 0;
        padding: 0;
        flex-wrap: wrap;
      }
      nav a {
        display: inline-block;
        padding: 10px 12px;
        min-height: 44px;
        border-radius: var(--sm-radius);
        color: var(--sm-text);
        text-decoration: none;
      }
      nav a[aria-current="page"] {
        background: var(--sm-surface2);
        font-weight: 600;
      }
      .badge {
        background: var(--sm-danger);
        color: var(--sm-surface);
        border-radius: 999px;
        padding: 0 6px;
        font-size: 0.8rem;
      }
      #main {
        padding: 12px;
        min-width: 0;
        min-height: 0;
        overflow: auto;
        /* Absolutely placed parts of a page (a hidden table caption) stay inside the scrolling
          region; placed against the window, they made the window itself scroll. */
        position: relative;
      }
      /* The More toggle shows only in the bottom nav (below 600 px). */
      li.more-toggle {
        display: none;
      }
      li.more-toggle button {
        border: none;
        background: none;
      }
      @media (max-width: 599px) {
        :host {
          grid-template-rows: minmax(0, 1fr) auto auto;
        }
        header {
          position: fixed;
          bottom: 0;
          left: 0;
          right: 0;
          z-index: 5;
          border-top: 1px solid var(--sm-border);
          border-bottom: none;
        }
        header .brand {
          display: none;
        }
        nav ul {
          flex-wrap: nowrap;
          justify-content: space-around;
        }
        nav li.more {
          display: none;
        }
        nav.more-open li.more {
          display: block;
        }
        nav.more-open ul {
          flex-wrap: wrap;
        }
        li.more-toggle {
          display: block;
        }
        /* The fixed bottom nav (61 px: 44 px links, padding and border) must not cover the
          status bar, which holds the user's name and Sign out. */
        sm-status-bar {
          margin-bottom: 61px;
        }
      }
    `,
  ];

  constructor() {
    super();
    this.resolution = null;
    this.booted = false;
    this.moreOpen = false;
    this.unloaded = null;
    this.api = new ApiClient({
      token: () => this.store.state.auth.token,
      onSession: (session) => (session ? this.#signedIn(session, false) : this.#signedOut()),
      onRefreshWait: (seconds) =>
        this.store.dispatch({
          type: "notice",
          level: "info",
          code: REFRESH_WAIT,
          message:
            `Too many sign-in requests from this address; your session is restored in ${seconds} s.`,
        }),
    });
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.socket = new SocketController(null, {
      url: `${scheme}//${location.host}/ws`,
      token: () => this.store.state.auth.token,
      refresh: () => this.api.refresh(),
      onMessage: (message) => this.store.dispatch({ type: "ws", message, now: Date.now() }),
      onWelcome: (resumed) => this.store.dispatch({ type: "welcome", resumed }),
      onState: (state, attempt, nextAt) =>
        this.store.dispatch({ type: "connection", state, attempt, nextAt }),
      onRoleChanged: () => void this.#reloadUser(),
      topics: ["state", "chat", "tools", "approvals", "projects", "memory", "notices"],
      online: () => navigator.onLine,
    });
    this.services = {
      store: this.store,
      api: this.api,
      socket: this.socket,
      navigate: (path, options) => this.#navigate(path, options?.replace ?? false),
    };
    new ContextProvider(this, { context: servicesContext, initialValue: this.services });
    this.store.subscribe(() => this.requestUpdate());
  }

  override connectedCallback(): void {
    super.connectedCallback();
    addEventListener("popstate", this.#route);
    addEventListener("online", this.#retry);
    document.addEventListener("visibilitychange", this.#visible);
    this.addEventListener("click", this.#intercept);
    void this.#boot();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    removeEventListener("popstate", this.#route);
    removeEventListener("online", this.#retry);
    document.removeEventListener("visibilitychange", this.#visible);
    this.removeEventListener("click", this.#intercept);
    this.socket.stop();
  }

  #retry = () => this.socket.retryNow();
  #visible = () => {
    if (document.visibilityState === "visible") this.socket.retryNow();
  };

  async #boot() {
    try {
      const status = await this.api.authStatus();
      if (!status.enabled) {
        // Sign-in is off (a loopback development server): the local administrator.
        this.store.dispatch({
          type: "auth",
          status: "signed_in",
          user: { id: "local", username: "local", role: "admin" },
          token: "local",
        });
        this.socket.start();
      } else if (status.setup_required) {
        this.store.dispatch({ type: "auth", status: "setup" });
      } else if (status.refresh_cookie === false || !(await this.api.refresh())) {
        // Without the refresh cookie a refresh can only fail: sign-in is shown at once.
        this.store.dispatch({ type: "auth", status: "anonymous", user: null, token: null });
      }
    } catch {
      this.store.dispatch({ type: "auth", status: "anonymous", user: null, token: null });
      this.store.dispatch({
        type: "notice",
        level: "error",
        code: "UNREACHABLE",
        message: "The server could not be reached.",
      });
    }
    this.booted = true;
    this.#route();
  }

  #signedIn(session: Session, navigate: boolean) {
    const first = this.store.state.auth.status !== "signed_in";
    this.store.dispatch({
      type: "auth",
      status: "signed_in",
      user: session.user,
      token: session.access_token,
    });
    // "Your session is restored in N s" has come true.
    this.store.dispatch({ type: "notice/resolved", code: REFRESH_WAIT });
    if (first) this.socket.start();
    if (navigate) this.#route();
  }

  #signedOut() {
    this.socket.reset();
    this.store.dispatch({ type: "auth", status: "anonymous", user: null, token: null });
    if (this.booted) this.#route();
  }

  async #reloadUser() {
    try {
      const user = await this.api.me();
      this.store.dispatch({ type: "auth", status: "signed_in", user });
      this.#route();
    } catch {
      this.#signedOut();
    }
  }

  async #logout() {
    try {
      await this.api.logout();
    } catch {
      // Signed out locally either way.
    }
    this.socket.reset();
    this.store.dispatch({ type: "auth", status: "anonymous", user: null, token: null });
    this.#navigate("/login", true);
  }

  #intercept = (event: MouseEvent) => {
    if (
      event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
      event.shiftKey || event.altKey
    ) return;
    const anchor = event.composedPath().find((node) => node instanceof HTMLAnchorElement) as
      | HTMLAnchorElement
      | undefined;
    if (!anchor || anchor.target === "_blank" || anchor.hasAttribute("download")) return;
    const url = new URL(anchor.href, location.href);
    if (
      url.origin !== location.origin || url.pathname.startsWith("/api/") ||
      url.pathname.startsWith("/docs")
    ) return;
    event.preventDefault();
    this.#navigate(url.pathname + url.search, false);
  };

  #navigate(path: string, replace: boolean) {
    if (replace) history.replaceState(null, "", path);
    else history.pushState(null, "", path);
    this.#route();
  }

  #route = () => {
    const auth = this.store.state.auth;
    for (let hops = 0; hops < 3; hops++) {
      const resolution = resolveRoute(new URL(location.href), {
        status: auth.status,
        role: auth.user?.role ?? null,
      });
      if (resolution.kind === "redirect") {
        history.replaceState(null, "", resolution.to);
        continue;
      }
      const previous = this.resolution;
      this.resolution = resolution;
      document.title = `${resolution.title} · Synth Mind`;
      // Focus moves to the new page's heading; a new thread's URL on the same page keeps it.
      const samePage = previous?.kind === "page" && resolution.kind === "page" &&
        previous.page === resolution.page;
      if (!samePage) void this.updateComplete.then(() => this.#focusHeading());
      return;
    }
  };

  async #focusHeading() {
    const page = this.renderRoot.querySelector("#main > *");
    // A lazily loaded page has its heading once its module defined it and it rendered.
    if (page && page.localName.includes("-")) {
      await customElements.whenDefined(page.localName);
      await (page as HTMLElement & { updateComplete?: Promise<unknown> }).updateComplete;
    }
    const heading = (page?.shadowRoot ?? page)?.querySelector?.("h1") as
      | HTMLElement
      | null
      | undefined;
    if (heading) {
      if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  }

  /**
   * Starts loading a lazy page's module once. A module that cannot be fetched (a dropped
   * connection, a server restarted with a newer build) leaves a message and a reload button, not
   * an empty page (browsers keep a failed module import, so only a reload fetches it again).
   */
  #load(name: string): void {
    if (requested.has(name)) return;
    requested.add(name);
    LAZY[name]!().catch((error) => {
      this.unloaded = { name, reason: error instanceof Error ? error.message : String(error) };
    });
  }

  #unloadedPage(title: string): TemplateResult {
    return html`
      <section>
        <h1 tabindex="-1">${title}</h1>
        <p role="alert">This page could not be loaded (${this.unloaded?.reason}).</p>
        <p><button type="button" @click=${() => location.reload()}>Reload</button></p>
      </section>
    `;
  }

  #page(): TemplateResult | typeof nothing {
    const resolution = this.resolution;
    if (!this.booted || !resolution) return html`<p role="status">Loading…</p>`;
    if (resolution.kind !== "page") {
      return html`<page-pending heading="Not found"></page-pending>`;
    }
    const lazy = resolution.page.startsWith("admin-") ? "admin" : resolution.page;
    if (this.unloaded?.name === lazy) return this.#unloadedPage(resolution.title);
    switch (resolution.page) {
      case "login":
        return html`<page-login mode="login" @signed-in=${(e: CustomEvent<Session>) =>
          this.#signedIn(e.detail, true)}></page-login>`;
      case "setup":
        return html`<page-login mode="setup" @signed-in=${(e: CustomEvent<Session>) =>
          this.#signedIn(e.detail, true)}></page-login>`;
      case "chat":
        return html`<page-chat thread-id=${resolution.params.threadId ?? nothing}></page-chat>`;
      case "tools":
        return html`<page-tools></page-tools>`;
      case "mind":
        this.#load("mind");
        return html`<page-mind></page-mind>`;
      case "memory":
        this.#load("memory");
        return html`<page-memory></page-memory>`;
      case "projects":
        this.#load("projects");
        return html`<page-projects></page-projects>`;
      case "project":
        this.#load("project");
        return html`<page-project project-id=${resolution.params.id ?? nothing}></page-project>`;
      case "timeline":
        this.#load("timeline");
        return html`<page-timeline></page-timeline>`;
      case "admin-users":
      case "admin-keys":
      case "admin-firewall":
      case "admin-rate-limits":
      case "admin-access-log":
      case "admin-plugins":
        this.#load("admin");
        return html`<page-admin section=${resolution.page.slice(6)}></page-admin>`;
      default:
        return html`<page-pending heading=${resolution.title}></page-pending>`;
    }
  }

  override render(): unknown {
    const auth = this.store.state.auth;
    const signedIn = auth.status === "signed_in";
    const path = location.pathname;
    const pending =
      Object.values(this.store.state.tools.approvals).filter((item) => item.status === "pending")
        .length;
    return html`<a class="skip" href="#main" @click=${(e: Event) => {
      e.preventDefault();
      void this.#focusHeading();
    }}>Skip to content</a>
      ${
      signedIn
        ? html`<header><span class="brand">Synth Mind</span>
          <nav aria-label="Main" class=${this.moreOpen ? "more-open" : ""} @click=${(e: Event) => {
          if ((e.target as Element).closest?.("a")) this.moreOpen = false;
        }}><ul>${
          NAV.filter((item) => !item.admin || auth.user?.role === "admin").map((item) =>
            html`<li class=${item.more ? "more" : ""}><a href=${item.href} aria-current=${
              path === item.href || path.startsWith(`${sectionOf(item.href)}/`) ||
                (item.href === "/chat" && path === "/")
                ? "page"
                : "false"
            }>
              ${item.label}${
              item.href === "/tools" && pending
                ? html`
                  <span class="badge" aria-label="${pending} pending approvals">${pending}</span>
                `
                : nothing
            }</a></li>`
          )
        }<li class="more-toggle"><button aria-expanded=${this.moreOpen ? "true" : "false"}
          @click=${() => (this.moreOpen = !this.moreOpen)}>More</button></li></ul></nav></header>`
        : html`<span></span>`
    }
      <div id="main">${this.#page()}</div>
      ${
      signedIn
        ? html`<sm-status-bar @logout-requested=${() =>
          void this.#logout()} @retry-requested=${() => this.socket.retryNow()}></sm-status-bar>`
        : html`<span></span>`
    }
      <sm-toasts></sm-toasts>`;
  }
}
customElements.define("sm-app", SmApp);

declare global {
  interface HTMLElementTagNameMap {
    "sm-app": SmApp;
  }
}
