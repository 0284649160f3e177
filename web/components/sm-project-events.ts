/**
 * `<sm-project-events>` (spec/dashboard.md §5.4, Events tab): a project's
 * events newest first, as its page merged them (REST pages and live
 * `project.update`s, one per seq), with "Load older" while earlier events
 * exist.
 *
 * @fires load-older - when the user asks for the events before the oldest shown.
 * @module
 */
import { css, html, LitElement, nothing } from "lit";
import { shortTime } from "../lib/format.ts";
import { describeEvent, type ProjectEvent, type ProjectTask } from "../lib/project_view.ts";
import { shared } from "../theme/shared.ts";

/** The event list. */
export class SmProjectEvents extends LitElement {
  static override properties = {
    events: { attribute: false },
    tasks: { attribute: false },
    loading: { type: Boolean },
    error: {},
  };
  /** Newest first, one per seq. */
  declare events: ProjectEvent[];
  declare tasks: ProjectTask[];
  /** Older events are loading. */
  declare loading: boolean;
  /** Why loading older events failed. */
  declare error: string;

  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      ol {
        list-style: none;
        padding: 0;
        margin: 0;
      }
      li {
        display: grid;
        grid-template-columns: 4.5em 7em minmax(0, 1fr);
        gap: 8px;
        padding: 6px 0;
        border-bottom: 1px solid var(--sm-surface2);
        overflow-wrap: anywhere;
      }
      .seq,
      time {
        font-variant-numeric: tabular-nums;
      }
      @media (max-width: 599px) {
        li {
          grid-template-columns: 4em minmax(0, 1fr);
        }
        li .text {
          grid-column: 1 / -1;
        }
      }
    `,
  ];

  constructor() {
    super();
    this.events = [];
    this.tasks = [];
    this.loading = false;
    this.error = "";
  }

  override render(): unknown {
    const names = new Map(this.tasks.map((task) => [task.id, task.name]));
    const oldest = this.events.at(-1)?.seq ?? 1;
    return html`
      ${this.events.length === 0 ? html`<p class="muted">No events yet.</p>` : nothing}
      <ol aria-label="Events, newest first">${this.events.map((event) =>
        html`
          <li data-seq=${event.seq} data-type=${event.type}>
            <span class="seq muted">#${event.seq}</span>
            <time datetime=${event.at}>${shortTime(event.at)}</time>
            <span class="text">${describeEvent(event, names)}</span>
          </li>
        `
      )}</ol>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${oldest > 1
        ? html`<button type="button" ?disabled=${this.loading} @click=${() =>
          this.dispatchEvent(
            new CustomEvent("load-older", { bubbles: true, composed: true }),
          )}>Load older</button>`
        : nothing}
    `;
  }
}
customElements.define("sm-project-events", SmProjectEvents);

declare global {
  interface HTMLElementTagNameMap {
    "sm-project-events": SmProjectEvents;
  }
}
