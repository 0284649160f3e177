/**
 * `<page-tools>` (spec/dashboard.md §5.6): pending approvals first (the
 * chat's tool cards), then recent runs with filters by tool and status,
 * live through `tool.run`.
 *
 * @module
 */
import { css, html, nothing } from "lit";
import { ApiError } from "../api/client.ts";
import { SmElement } from "../app/base.ts";
import { duration, shortTime } from "../lib/format.ts";
import { shared } from "../theme/shared.ts";
import "../components/sm-tool-card.ts";

const STATUSES = [
  "",
  "pending_approval",
  "running",
  "succeeded",
  "failed",
  "denied",
  "expired",
  "cancelled",
];

/** The tools page. */
export class PageTools extends SmElement {
  static override properties = {
    tool: { state: true },
    status: { state: true },
    error: { state: true },
  };
  declare tool: string;
  declare status: string;
  declare error: string;
  #tools = this.select((s) => s.tools);
  #auth = this.select((s) => s.auth);
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      .filters {
        margin: 8px 0;
      }
      /* Long argument previews wrap inside their cell instead of widening the page. */
      td.arguments code {
        overflow-wrap: anywhere;
      }
      td.arguments {
        max-width: 40ch;
      }
    `,
  ];

  constructor() {
    super();
    this.tool = "";
    this.status = "";
    this.error = "";
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#load();
  }

  async #load() {
    try {
      const [runs, approvals] = await Promise.all([
        this.services.api.runs(),
        this.services.api.approvals(),
      ]);
      this.services.store.dispatch({
        type: "tools/loaded",
        runs: runs.items,
        approvals: approvals.items,
      });
    } catch (error) {
      this.error = error instanceof ApiError ? error.message : String(error);
    }
  }

  async #decide(event: CustomEvent<{ approvalId: string; decision: "approve" | "deny" }>) {
    try {
      await this.services.api.decide(event.detail.approvalId, event.detail.decision);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === "APPROVAL_CLOSED")) {
        this.error = error instanceof ApiError ? error.message : String(error);
      }
    }
  }

  override render(): unknown {
    const tools = this.#tools.value;
    if (!tools) return nothing;
    const role = this.#auth.value?.user?.role;
    const me = this.#auth.value?.user?.id;
    // An administrator sees everyone's runs: whose each is, and who decided it.
    const who = (userId: string | null) =>
      userId === null ? "the server" : userId === me ? "you" : userId;
    const runs = Object.values(tools.runs).sort((a, b) => b.created_at.localeCompare(a.created_at));
    const pending = runs.filter((run) =>
      run.status === "pending_approval" && run.approval_id &&
      tools.approvals[run.approval_id]?.status === "pending"
    );
    const names = [...new Set(runs.map((run) => run.tool))].sort();
    const shown = runs.filter((run) =>
      (!this.tool || run.tool === this.tool) && (!this.status || run.status === this.status)
    );
    return html`
      <h1 tabindex="-1">Tools</h1>
            ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
            <h2>Pending approvals</h2>
            ${pending.length === 0
              ? html`<p class="muted">Nothing is waiting for a decision.</p>`
              : pending.map((run) =>
                html`
                  <sm-tool-card .run=${run} .approval=${tools.approvals[run.approval_id!] ?? null}
                    ?can-decide=${role === "operator" || role === "admin"} @approval-decided=${this
                      .#decide}></sm-tool-card>
                `
              )}
            <h2>Recent runs</h2>
            <div class="row filters">
        <label>Tool <select @change=${(
          e: Event,
        ) => (this.tool = (e.target as HTMLSelectElement).value)}>
                <option value="">all</option>${names.map((name) =>
                  html`<option value=${name}>${name}</option>`
                )}
              </select></label>
        <label>Status <select @change=${(
          e: Event,
        ) => (this.status = (e.target as HTMLSelectElement).value)}>
                ${STATUSES.map((status) =>
                  html`<option value=${status}>${status || "all"}</option>`
                )}
              </select></label>
      </div>
            ${shown.length === 0
              ? html`<p class="muted" data-empty>${
                this.tool || this.status
                  ? "No runs match these filters."
                  : "No runs yet: tools run when the mind calls them in a chat, or from /tool."
              }</p>`
              : nothing}
            <table class="stack" ?hidden=${shown.length === 0}>
        <thead>
          <tr>
            <th>Time</th>
            <th>Tool</th>
            <th>Risk</th>
            <th>Asked by</th>
            <th>Status</th>
            <th>Duration</th>
            <th>Arguments</th>
          </tr>
        </thead>
        <tbody>${shown.map((run) =>
          html`
            <tr data-run=${run.id}>
              <td data-label="Time">${shortTime(run.created_at)}</td>
              <td data-label="Tool">${run.tool}</td>
              <td data-label="Risk">${run.risk}</td>
              <td data-label="Asked by">${who(run.requested_by)} <span class="muted">via ${run
                  .thread_id
                ? html`<a href="/chat/${run.thread_id}">${run.module}</a>`
                : run.module}</span></td>
              <td data-label="Status">${run.status}${run.status === "failed" && run.error_code
                ? ` (${run.error_code})`
                : ""}${run.approver_id
                ? ` (${run.status === "denied" ? "by" : "approved by"} ${who(run.approver_id)})`
                : ""}</td>
              <td data-label="Duration">${duration(run.duration_ms)}</td>
              <td class="arguments" data-label="Arguments"><code>${run.args_preview}</code></td>
            </tr>
          `
        )}</tbody>
      </table>
    `;
  }
}
customElements.define("page-tools", PageTools);

declare global {
  interface HTMLElementTagNameMap {
    "page-tools": PageTools;
  }
}
