/**
 * `<page-pending>`: an address with no page for the user (mistyped, or an
 * administrator's page) says so plainly, with a link back to Chat.
 *
 * @module
 */
import { html, LitElement } from "lit";
import { shared } from "../theme/shared.ts";

/** No page here for this user. */
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
      <p>There is no page at this address that you can open. Check the address, or use the
        navigation; the API has its own <a href="/docs">reference</a>.</p>
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
