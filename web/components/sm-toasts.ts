/**
 * `<sm-toasts>`: notices from the server (`notice`) and the app, polite for
 * info, assertive for errors, each dismissable.
 *
 * @module
 */
import { css, html } from "lit";
import { SmElement } from "../app/base.ts";
import { shared } from "../theme/shared.ts";

/** The toasts. */
export class SmToasts extends SmElement {
  #notices = this.select((s) => s.notices);
  static override styles = [
    shared,
    css`
      :host {
        position: fixed;
        right: 12px;
        bottom: 56px;
        display: grid;
        gap: 8px;
        z-index: 10;
        max-width: min(420px, 90vw);
      }
      .card {
        box-shadow: 0 2px 8px rgb(0 0 0 / 20%);
      }
      .error {
        border-left: 4px solid var(--sm-danger);
      }
      .warn {
        border-left: 4px solid var(--sm-warn);
      }
    `,
  ];

  override render(): unknown {
    const notices = this.#notices.value ?? [];
    return html`${
      notices.map((notice) =>
        html`
          <div class="card ${notice.level}"
            role=${notice.level === "error" ? "alert" : "status"}>
            <div class="row"><span>${notice.message}</span>
                  <button aria-label="Dismiss" @click=${() =>
                    this.services.store.dispatch({
                      type: "notice/dismiss",
                      id: notice.id,
                    })}>×</button></div>
          </div>
        `
      )
    }`;
  }
}
customElements.define("sm-toasts", SmToasts);

declare global {
  interface HTMLElementTagNameMap {
    "sm-toasts": SmToasts;
  }
}
