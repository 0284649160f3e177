/**
 * `<sm-reflections-card>` (spec/dashboard.md §5.3, mind.md §8): reflection
 * runs, newest first — date, trigger and insight — each expandable to its
 * issues, instructions, self-rated scores and self statement. A failed run
 * shows its error. Reloads when the mind's run count changes.
 *
 * @module
 */
import { css, html, nothing } from "lit";
import { CardElement, cardStyles } from "../app/card.ts";
import { shortTime } from "../lib/format.ts";
import type { Reflection } from "../state/types.ts";
import { shared } from "../theme/shared.ts";

const LIMIT = 20;

/** The reflections card. */
export class SmReflectionsCard extends CardElement {
  #runs = this.select((s) =>
    (s.mind.state?.mind as { psyche_reflection?: { runs?: number } } | undefined)
      ?.psyche_reflection?.runs ?? 0
  );
  #task = this.load(
    () => [this.#runs.value] as const,
    (_args, signal) => this.services.api.reflections(LIMIT, signal),
  );

  static override styles = [
    shared,
    cardStyles,
    css`
      ol {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 8px;
      }
      details {
        border: 1px solid var(--sm-surface2);
        border-radius: var(--sm-radius);
        padding: 8px;
      }
      summary {
        cursor: pointer;
        min-height: 24px;
        overflow-wrap: anywhere;
      }
      ul {
        margin: 4px 0;
        padding-left: 18px;
      }
    `,
  ];

  #list(title: string, items: string[]) {
    return html`
      <h3>${title}</h3>
      ${items.length
        ? html`<ul>${items.map((item) => html`<li>${item}</li>`)}</ul>`
        : html`<p class="muted">None.</p>`}
    `;
  }

  #run(run: Reflection) {
    const output = run.output;
    const headline = run.status === "failed"
      ? html`<span class="error">Failed: ${run.error ?? "unknown error"}</span>`
      : output?.insight ?? html`<span class="muted">No insight</span>`;
    return html`
      <li>
        <details>
          <summary>
            <span class="muted">${shortTime(run.at)} · ${run.primary_trigger}</span><br>
            ${headline}
          </summary>
          ${output
            ? html`
              <p class="stat">
                Coherence ${output.coherence.toFixed(2)} (self-rated) · alignment ${output.alignment
                  .toFixed(2)}
              </p>
              ${this.#list("Issues", output.issues)} ${this.#list(
                "Instructions",
                output.instructions,
              )}
              <h3>Self statement</h3>
              <p>${output.self_statement}</p>
            `
            : nothing}
          <p class="muted">Triggers: ${run.triggers.map((item) => `${item.trigger} (${item.value})`)
            .join(", ") || run.primary_trigger}${run.repaired ? " · repaired output" : ""}</p>
        </details>
      </li>
    `;
  }

  #complete = (runs: Reflection[]) =>
    runs.length === 0
      ? html`<p class="muted">No reflection yet.</p>`
      : html`<ol>${runs.map((run) => this.#run(run))}</ol>`;

  override render(): unknown {
    return html`
      <section class="card" aria-labelledby="reflections-h">
        <h2 id="reflections-h">Reflections</h2>
        ${this.renderTask(this.#task, this.#complete)}
      </section>
    `;
  }
}
customElements.define("sm-reflections-card", SmReflectionsCard);

declare global {
  interface HTMLElementTagNameMap {
    "sm-reflections-card": SmReflectionsCard;
  }
}
