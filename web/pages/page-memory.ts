/**
 * `<page-memory>`: not built yet; says so (replaced by the real page).
 *
 * @module
 */
import { html, LitElement } from "lit";
import { shared } from "../theme/shared.ts";

/** Placeholder until the page lands. */
export class PageMemory extends LitElement {
  static override properties = { section: {} };
  declare section: string;
  static override styles = [shared];

  constructor() {
    super();
    this.section = "";
  }

  override render(): unknown {
    return html`
      <h1 tabindex="-1">Not built yet</h1>
      <p>This page is not part of the dashboard yet.</p>
    `;
  }
}
customElements.define("page-memory", PageMemory);

declare global {
  interface HTMLElementTagNameMap {
    "page-memory": PageMemory;
  }
}
