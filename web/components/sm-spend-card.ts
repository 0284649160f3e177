/**
 * `<sm-spend-card>` (spec/dashboard.md §5.3, mind.md §13): token spend per
 * module — the last 24 hours (the window of a daily budget) against the
 * daily budget, as a bar and a percentage. Amber from 80 %; red plus the
 * words "over budget" from 100 %, so colour is never the only cue. Modules
 * with no budget and no spend are counted, not listed. Reloads after each
 * turn and each background job the state reports.
 *
 * @module
 */
import { css, html, nothing } from "lit";
import { CardElement, cardStyles, SETTLE_MS } from "../app/card.ts";
import { budgetLevel } from "../lib/mind_stats.ts";
import type { Budget } from "../state/types.ts";
import { shared } from "../theme/shared.ts";

const tokens = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

/** A module id that may wrap after its underscores (a zero-width space), not mid-word. */
const breakable = (id: string) => id.replaceAll("_", "_\u200b");

/** The token spend card. */
export class SmSpendCard extends CardElement {
  /** Changes whenever something may have spent tokens: turns, reflections, forecasts, rewrites. */
  #activity = this.select((s) => {
    const state = s.mind.state as
      | { turn_count?: number; mind?: Record<string, Record<string, unknown> | undefined> }
      | null;
    const mind = state?.mind;
    return JSON.stringify([
      state?.turn_count,
      mind?.background?.pending,
      mind?.psyche_reflection?.runs,
      mind?.psyche_dreaming?.counts,
      (mind?.psyche_purpose?.narrative as { version?: number } | undefined)?.version,
    ]);
  });
  #task = this.load(
    () => [this.#activity.value] as const,
    (_args, signal) => this.services.api.budgets(signal),
    { settleMs: SETTLE_MS },
  );

  static override styles = [
    shared,
    cardStyles,
    css`
      .bar {
        width: 100%;
        min-width: 80px;
        height: 10px;
        display: block;
      }
      .track {
        fill: var(--sm-surface2);
      }
      .fill.ok,
      .fill.none {
        fill: var(--sm-accent);
      }
      .fill.warn {
        fill: var(--sm-warn);
      }
      .fill.over {
        fill: var(--sm-danger);
      }
      td.num {
        font-variant-numeric: tabular-nums;
      }
      th[scope="row"] {
        overflow-wrap: break-word;
      }
      @media (max-width: 599px) {
        table.stack th[scope="row"] {
          display: block;
          border: none;
        }
      }
      .over-text {
        color: var(--sm-danger);
        font-weight: 700;
      }
      .warn-text {
        color: var(--sm-warn);
        font-weight: 600;
      }
    `,
  ];

  #row(budget: Budget) {
    const { percent, level } = budgetLevel(budget.used_day, budget.per_day);
    const width = percent === null ? 0 : Math.min(100, percent);
    return html`
      <tr data-module=${budget.module} data-level=${level}>
        <th scope="row" data-label="Module">${breakable(budget.module)}</th>
        <td data-label="Spent (24 h)" class="num">${tokens.format(budget.used_day)}</td>
        <td data-label="Daily budget" class="num">${budget.per_day === null
          ? html`<span class="muted">none</span>`
          : tokens.format(budget.per_day)}</td>
        <td data-label="Share">
          ${percent === null ? nothing : html`
            <svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
              <rect class="track" x="0" y="0" width="100" height="10" rx="2"></rect>
              <rect class="fill ${level}" x="0" y="0" width=${width} height="10" rx="2"></rect>
            </svg>
          `}
          <span class=${level === "over" ? "over-text" : level === "warn" ? "warn-text" : ""}>
            ${percent === null ? "–" : `${Math.round(percent)} %`}${level === "over"
              ? " over budget"
              : level === "warn"
              ? " (near the budget)"
              : ""}
          </span>
        </td>
      </tr>
    `;
  }

  #complete = (budgets: Budget[]) => {
    const shown = budgets.filter((budget) => budget.per_day !== null || budget.used_day > 0)
      .sort((a, b) =>
        (budgetLevel(b.used_day, b.per_day).percent ?? -1) -
          (budgetLevel(a.used_day, a.per_day).percent ?? -1) || b.used_day - a.used_day
      );
    const idle = budgets.length - shown.length;
    return html`
      <table class="stack">
        <caption class="sr-only">Tokens per module in the last 24 hours against the daily budget</caption>
        <thead>
          <tr>
            <th scope="col">Module</th>
            <th scope="col">Spent (24 h)</th>
            <th scope="col">Daily budget</th>
            <th scope="col">Share</th>
          </tr>
        </thead>
        <tbody>${shown.map((budget) => this.#row(budget))}</tbody>
      </table>
      ${idle > 0
        ? html`<p class="muted">${idle} other modules have no daily budget and spent nothing.</p>`
        : nothing}
    `;
  };

  override render(): unknown {
    return html`
      <section class="card" aria-labelledby="spend-h">
        <h2 id="spend-h">Token spend</h2>
        ${this.renderTask(this.#task, this.#complete)}
      </section>
    `;
  }
}
customElements.define("sm-spend-card", SmSpendCard);

declare global {
  interface HTMLElementTagNameMap {
    "sm-spend-card": SmSpendCard;
  }
}
