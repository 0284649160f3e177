/**
 * `<sm-status-bar>` (spec/dashboard.md §5.8): the connection state with the
 * time since the last event and the next retry, the language model
 * provider's readiness (polled every 30 s while visible), and the user menu
 * with logout.
 *
 * @fires logout-requested
 * @fires retry-requested
 * @module
 */
import { css, html, nothing } from "lit";
import { SmElement } from "../app/base.ts";
import { shared } from "../theme/shared.ts";

const LABELS: Record<string, string> = {
  connecting: "connecting",
  authenticating: "signing in to the live feed",
  online: "live",
  reconnecting: "reconnecting",
  offline: "offline",
  unauthorized: "signed out",
};

/** The status bar. */
export class SmStatusBar extends SmElement {
  static override properties = { now: { state: true } };
  declare now: number;
  #connection = this.select((s) => s.connection);
  #health = this.select((s) => s.health);
  #auth = this.select((s) => s.auth);
  #timer: number | null = null;
  #poll: number | null = null;

  static override styles = [
    shared,
    css`
      :host {
        display: block;
        border-top: 1px solid var(--sm-border);
        background: var(--sm-surface);
        padding: 4px 12px;
        font-size: 0.9rem;
      }
      .dot {
        display: inline-block;
        width: 10px;
        height: 10px;
        border-radius: 50%;
        background: var(--sm-muted);
      }
      .dot.online {
        background: var(--sm-ok);
      }
      .dot.reconnecting,
      .dot.connecting,
      .dot.authenticating {
        background: var(--sm-warn);
      }
      .dot.offline,
      .dot.unauthorized {
        background: var(--sm-danger);
      }
      .banner {
        background: var(--sm-surface2);
        padding: 8px;
        border-radius: var(--sm-radius);
        margin: 4px 0;
      }
      .spacer {
        flex: 1;
      }
      /* A phone keeps the bar to what matters: the state, the model's status, who and Sign out. */
      @media (max-width: 600px) {
        :host {
          padding: 2px 8px;
        }
        .since,
        .reason {
          display: none;
        }
      }
    `,
  ];

  constructor() {
    super();
    this.now = Date.now();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#timer = setInterval(() => (this.now = Date.now()), 1_000) as unknown as number;
    const poll = () => {
      if (document.visibilityState === "visible") void this.#checkHealth();
    };
    poll();
    this.#poll = setInterval(poll, 30_000) as unknown as number;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#poll !== null) clearInterval(this.#poll);
  }

  async #checkHealth() {
    try {
      const report = await this.services.api.ready();
      const llm = report.checks.llm;
      this.services.store.dispatch({
        type: "health",
        llm: llm
          ? { status: llm.status as "ok" | "degraded" | "fail", reason: llm.reason ?? "" }
          : null,
      });
    } catch {
      // The connection state already tells the user the server is away.
    }
  }

  override render(): unknown {
    const connection = this.#connection.value;
    const llm = this.#health.value?.llm;
    const user = this.#auth.value?.user;
    if (!connection) return nothing;
    const since = connection.lastEventAt
      ? Math.round((this.now - connection.lastEventAt) / 1000)
      : null;
    const next = connection.nextAt
      ? Math.max(0, Math.ceil((connection.nextAt - this.now) / 1000))
      : null;
    return html`
      ${llm && llm.status === "fail"
        ? html`<div class="banner" role="alert">No language model is reachable: ${llm.reason ?? ""}.
            See <a href="https://github.com/synth-mind/synth-mind#connecting-a-language-model">connecting a language model</a>.</div>`
        : nothing}
      <div class="row">
        <span role="status" aria-live="polite" data-state=${connection.state}>
          <span class="dot ${connection.state}" aria-hidden="true"></span>
          ${LABELS[connection.state] ??
            connection.state}${connection.state === "reconnecting" && connection.attempt
            ? html`
              (attempt ${connection.attempt}${next !== null
                ? html`, next try in ${next} s`
                : nothing})
            `
            : nothing}
          ${since !== null
            ? html`<span class="muted since"> · last event ${since} s ago</span>`
            : nothing}
        </span>
        ${connection.state === "offline"
          ? html`<button @click=${() =>
            this.dispatchEvent(
              new CustomEvent("retry-requested", { bubbles: true, composed: true }),
            )}>Retry now</button>`
          : nothing}
        <span>Model: ${connection.state !== "reconnecting" && connection.state !== "offline"
          ? html`<span class=${
            llm?.status === "ok" ? "ok" : llm?.status === "fail" ? "error" : "warn"
          }>${llm ? llm.status : "checking"}${
            llm?.reason ? html`<span class="reason"> (${llm.reason})</span>` : nothing
          }</span>`
          : html`<span class="warn">unknown (server not reachable)</span>`}</span>
        <span class="spacer"></span>
        ${user
          ? html`
            <span>${user.username} (${user.role})</span>
            <button @click=${() =>
              this.dispatchEvent(
                new CustomEvent("logout-requested", { bubbles: true, composed: true }),
              )}>Sign out</button>
          `
          : nothing}
      </div>
    `;
  }
}
customElements.define("sm-status-bar", SmStatusBar);

declare global {
  interface HTMLElementTagNameMap {
    "sm-status-bar": SmStatusBar;
  }
}
