/**
 * `<sm-tool-card>` (spec/dashboard.md §5.2): a tool run with its risk,
 * arguments, status, duration and result preview; for a run waiting for
 * approval, Approve and Deny with a countdown. The state follows `tool.run`
 * messages, never the click.
 *
 * @fires approval-decided {detail: {approvalId, decision}}
 * @module
 */
import { css, html, LitElement, nothing } from "lit";
import type { Approval, ToolRun } from "../state/types.ts";
import { duration, prettyJson, secondsUntil } from "../lib/format.ts";
import { shared } from "../theme/shared.ts";

const STATUS_TEXT: Record<string, string> = {
  pending_approval: "waiting for approval",
  running: "running",
  succeeded: "succeeded",
  failed: "failed",
  denied: "denied",
  expired: "Expired: denied",
  cancelled: "cancelled",
};

/** One tool run. */
export class SmToolCard extends LitElement {
  static override properties = {
    run: { attribute: false },
    approval: { attribute: false },
    canDecide: { type: Boolean, attribute: "can-decide" },
    pending: { state: true },
    now: { state: true },
  };
  declare run: ToolRun;
  declare approval: Approval | null;
  declare canDecide: boolean;
  declare pending: boolean;
  declare now: number;
  #timer: number | null = null;

  static override styles = [
    shared,
    css`
      :host {
        display: block;
        margin: 8px 0;
      }
      .card {
        border-left: 4px solid var(--sm-border);
      }
      .status {
        font-weight: 600;
      }
      details pre {
        max-height: 20em;
        overflow: auto;
      }
      .risk {
        text-transform: uppercase;
        font-size: 0.8rem;
      }
    `,
  ];

  constructor() {
    super();
    this.approval = null;
    this.canDecide = false;
    this.pending = false;
    this.now = Date.now();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#timer = setInterval(() => (this.now = Date.now()), 1_000) as unknown as number;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.#timer !== null) clearInterval(this.#timer);
  }

  #decide(decision: "approve" | "deny") {
    if (!this.approval) return;
    this.pending = true;
    this.dispatchEvent(
      new CustomEvent("approval-decided", {
        detail: { approvalId: this.approval.id, decision },
        bubbles: true,
        composed: true,
      }),
    );
  }

  override render(): unknown {
    const run = this.run;
    const waiting = run.status === "pending_approval" && this.approval?.status === "pending";
    const args = prettyJson(run.args_preview);
    const result = run.result_preview ?? "";
    return html`<section class="card" aria-label="Tool ${run.tool}">
      <div class="row">
        <strong>${run.tool}</strong>
        <span class="risk muted">${run.risk}</span>
        <span class="status ${
      run.status === "succeeded" ? "ok" : run.status === "running" || waiting ? "" : "error"
    }"
          data-status=${run.status}>${STATUS_TEXT[run.status] ?? run.status}</span>
        ${
      run.duration_ms !== null
        ? html`<span class="muted">${duration(run.duration_ms)}</span>`
        : nothing
    }
      </div>
      <details ?open=${args.split("\n").length <= 20}>
        <summary>Arguments</summary>
        <pre>${args}</pre>
      </details>
      ${
      result
        ? html`
          <details ?open=${result.length <= 2048}>
            <summary>Result</summary>
            <pre>${result}</pre>
          </details>
        `
        : nothing
    }
      ${
      waiting && this.canDecide
        ? html`
          <div class="row">
            <button class="primary" ?disabled=${this.pending} @click=${() =>
              this.#decide("approve")}>Approve</button>
            <button class="danger" ?disabled=${this.pending} @click=${() =>
              this.#decide("deny")}>Deny</button>
            <span class="muted">expires in ${secondsUntil(
              this.approval!.expires_at,
              this.now,
            )} s</span>
          </div>
        `
        : nothing
    }
    </section>`;
  }
}
customElements.define("sm-tool-card", SmToolCard);

declare global {
  interface HTMLElementTagNameMap {
    "sm-tool-card": SmToolCard;
  }
}
