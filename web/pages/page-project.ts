/**
 * `<page-project>`: not built yet; says so (replaced by the real page).
 *
 * @module
 */
import { html, LitElement } from "lit";
import { shared } from "../theme/shared.ts";

/** Placeholder until the page lands. */
export class PageProject extends LitElement {
  static override properties = { projectId: { attribute: "project-id" } };
  declare projectId: string | null;
  static override styles = [shared];

  constructor() {
    super();
    this.projectId = null;
  }

  override render(): unknown {
    return html`
      <h1 tabindex="-1">Not built yet</h1>
      <p>This page is not part of the dashboard yet.</p>
    `;
  }
}
customElements.define("page-project", PageProject);

declare global {
  interface HTMLElementTagNameMap {
    "page-project": PageProject;
  }
}
