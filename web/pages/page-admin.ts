/**
 * `<page-admin>` (spec/dashboard.md §5.7): the administration pages, one
 * per `section` (users, API keys, firewall, rate limits, access log, plugins),
 * under a sub-navigation of real links. The server enforces the admin
 * role; the router only hides the page from others. Each section is its own
 * element and loads its data when it is shown.
 *
 * @module
 */
import { css, html, LitElement, nothing } from "lit";
import { shared } from "../theme/shared.ts";
import "../components/sm-admin-users.ts";
import "../components/sm-admin-keys.ts";
import "../components/sm-admin-firewall.ts";
import "../components/sm-admin-rate-limits.ts";
import "../components/sm-admin-access-log.ts";
import "../components/sm-admin-plugins.ts";

/** The sections, in the order of the sub-navigation. */
const SECTIONS = [
  { id: "users", label: "Users" },
  { id: "keys", label: "API keys" },
  { id: "firewall", label: "Firewall" },
  { id: "rate-limits", label: "Rate limits" },
  { id: "access-log", label: "Access log" },
  { id: "plugins", label: "Plugins" },
] as const;

/** The admin pages. */
export class PageAdmin extends LitElement {
  static override properties = { section: {} };
  declare section: string;
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      nav ul {
        display: flex;
        flex-wrap: wrap;
        gap: 4px;
        list-style: none;
        margin: 0 0 12px;
        padding: 0;
        border-bottom: 1px solid var(--sm-border);
      }
      nav a {
        display: inline-block;
        min-height: 44px;
        padding: 10px 12px;
        color: var(--sm-text);
        text-decoration: none;
        border-bottom: 3px solid transparent;
      }
      nav a[aria-current="page"] {
        font-weight: 600;
        border-bottom-color: var(--sm-accent);
      }
    `,
  ];

  constructor() {
    super();
    this.section = "users";
  }

  #content() {
    switch (this.section) {
      case "users":
        return html`<sm-admin-users></sm-admin-users>`;
      case "keys":
        return html`<sm-admin-keys></sm-admin-keys>`;
      case "firewall":
        return html`<sm-admin-firewall></sm-admin-firewall>`;
      case "rate-limits":
        return html`<sm-admin-rate-limits></sm-admin-rate-limits>`;
      case "access-log":
        return html`<sm-admin-access-log></sm-admin-access-log>`;
      case "plugins":
        return html`<sm-admin-plugins></sm-admin-plugins>`;
      default:
        return nothing;
    }
  }

  override render(): unknown {
    const current = SECTIONS.find((item) => item.id === this.section);
    return html`
      <nav aria-label="Admin sections">
        <ul>${SECTIONS.map((item) =>
          html`<li><a href="/admin/${item.id}" aria-current=${
            item.id === this.section ? "page" : "false"
          }>${item.label}</a></li>`
        )}</ul>
      </nav>
      <h1 tabindex="-1">${current ? current.label : "Admin"}</h1>
      ${this.#content()}
    `;
  }
}
customElements.define("page-admin", PageAdmin);

declare global {
  interface HTMLElementTagNameMap {
    "page-admin": PageAdmin;
  }
}
