/**
 * `<page-pending>`: a route whose page has not been built yet says so
 * plainly, with a link back to Chat (no fake data).
 *
 * @module
 */
import { html, LitElement } from "lit";
import { shared } from "../theme/shared.ts";

/** A page that is not built yet. */
export class PagePending extends LitElement {
  static override properties = { heading: {} };
  declare heading: string;
  static override styles = [shared];

  constructor() {
    super();
    this.heading = "";
  }

  override render(): unknown {
    return html`
      <h1 tabindex="-1">${this.heading}</h1>
      <p>This page is not part of the dashboard yet. The data behind it is available through the API
              (<a href="/docs">API reference</a>).</p>
      <p><a href="/chat">Back to Chat</a></p>
    `;
  }
}
customElements.define("page-pending", PagePending);

declare global {
  interface HTMLElementTagNameMap {
    "page-pending": PagePending;
  }
}
