/**
 * `<sm-assurance-card>` (spec/dashboard.md §5.3, mind.md §7.4): the open
 * concerns (kind, uncertainty `u`, age, thread) and calibration — a
 * reliability diagram over 10 confidence bins (predicted vs observed, SVG
 * geometry only) with ECE and the Brier score, plus the bins as a table.
 *
 * @module
 */
import { css, html, nothing, svg } from "lit";
import { CardElement, cardStyles } from "../app/card.ts";
import { ago } from "../lib/mind_stats.ts";
import type { Concern } from "../state/types.ts";
import { shared } from "../theme/shared.ts";

interface Bin {
  n: number;
  confidence: number | null;
  accuracy: number | null;
}

interface Scores {
  ece?: number | null;
  brier?: number | null;
  samples?: number;
  reliability?: Bin[] | null;
  open_concerns?: number;
  concern_precision?: number | null;
}

/** Plot area of the diagram (viewBox 0 0 220 214). */
const LEFT = 34;
const TOP = 8;
const SIZE = 176;
const px = (value: number) => LEFT + value * SIZE;
const py = (value: number) => TOP + (1 - value) * SIZE;

const fixed = (value: number | null | undefined, digits = 3) =>
  value === null || value === undefined ? "–" : value.toFixed(digits);

/** The assurance card. */
export class SmAssuranceCard extends CardElement {
  #scores = this.select((s) =>
    (s.mind.state?.mind as { psyche_assurance?: Scores } | undefined)?.psyche_assurance ?? null
  );
  #task = this.load(
    () => [this.#scores.value?.open_concerns ?? 0] as const,
    (_args, signal) => this.services.api.concerns("open", signal),
  );

  static override styles = [
    shared,
    cardStyles,
    css`
      .diagram {
        width: 100%;
        max-width: 260px;
        height: auto;
        display: block;
      }
      .frame {
        fill: none;
        stroke: var(--sm-border);
        stroke-width: 1;
      }
      .ideal {
        stroke: var(--sm-muted);
        stroke-width: 1;
        stroke-dasharray: 4 3;
      }
      .bin {
        fill: var(--sm-accent);
        fill-opacity: 0.75;
        stroke: var(--sm-accent);
      }
      .dot {
        fill: var(--sm-text);
      }
      text {
        fill: var(--sm-muted);
        font-size: 11px;
      }
      ul {
        padding-left: 18px;
        margin: 4px 0 8px;
      }
    `,
  ];

  #concerns = (concerns: Concern[]) =>
    concerns.length === 0 ? html`<p class="muted">No open concerns.</p>` : html`
      <ul>
        ${concerns.map((concern) =>
          html`
            <li>
              <strong>${concern.kind}</strong>, <span class="stat">u ${concern.u.toFixed(2)}</span>,
              opened ${ago(Date.parse(concern.opened_at), Date.now())}, in
              <a href="/chat/${encodeURIComponent(concern.thread_id)}">its thread</a>
            </li>
          `
        )}
      </ul>
    `;

  #diagram(bins: Bin[], scores: Scores) {
    const used = bins.filter((bin) => bin.n > 0).length;
    const ticks = [0, 0.5, 1];
    return html`
      <svg class="diagram" viewBox="0 0 220 214" role="img"
        aria-label="Reliability diagram: ${scores.samples ??
          0} samples in ${used} of 10 bins, ECE ${fixed(
            scores.ece,
          )}">
        <rect class="frame" x=${LEFT} y=${TOP} width=${SIZE} height=${SIZE}></rect>
        ${bins.map((bin, i) =>
          bin.n > 0 && bin.accuracy !== null
            ? svg`
              <rect class="bin" x=${px(i / 10) + 1} y=${py(bin.accuracy)} width=${SIZE / 10 - 2}
                height=${bin.accuracy * SIZE}></rect>${bin.confidence === null
                  ? nothing
                  : svg`<circle class="dot" cx=${px(bin.confidence)} cy=${
                    py(bin.accuracy)
                  } r="2.5"></circle>`}
            `
            : nothing
        )}
        <line class="ideal" x1=${px(0)} y1=${py(0)} x2=${px(1)} y2=${py(1)}></line>
        ${ticks.map((tick) =>
          svg`
            <text x=${px(tick)} y=${TOP + SIZE + 13} text-anchor="middle">${tick}</text>
            <text x=${LEFT - 4} y=${py(tick) + 4} text-anchor="end">${tick}</text>
          `
        )}
        <text x=${px(0.5)} y="212" text-anchor="middle">Predicted confidence</text>
        <text x=${-py(0.5)} y="10" transform="rotate(-90)" text-anchor="middle">Observed</text>
      </svg>
      <details>
        <summary>Bins as a table</summary>
        <table class="stack">
          <thead>
            <tr>
              <th scope="col">Bin</th>
              <th scope="col">Samples</th>
              <th scope="col">Predicted</th>
              <th scope="col">Observed</th>
            </tr>
          </thead>
          <tbody>
            ${bins.map((bin, i) =>
              html`
                <tr>
                  <td data-label="Bin">${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}</td>
                  <td data-label="Samples">${bin.n}</td>
                  <td data-label="Predicted">${fixed(bin.confidence, 2)}</td>
                  <td data-label="Observed">${fixed(bin.accuracy, 2)}</td>
                </tr>
              `
            )}
          </tbody>
        </table>
      </details>
    `;
  }

  override render(): unknown {
    const scores = this.#scores.value ?? {};
    const bins = scores.reliability;
    return html`
      <section class="card" aria-labelledby="assurance-h">
        <h2 id="assurance-h">Assurance</h2>
        <h3>Open concerns</h3>
        ${this.renderTask(this.#task, this.#concerns)}
        <h3>Calibration</h3>
        <p class="stat">
          ECE ${fixed(scores.ece)} · Brier ${fixed(scores.brier)} · ${scores.samples ?? 0} samples
          ${scores.concern_precision === null || scores.concern_precision === undefined
            ? nothing
            : html`
              · concern precision ${fixed(scores.concern_precision, 2)}
            `}
        </p>
        ${bins && bins.length === 10 ? this.#diagram(bins, scores) : html`<p class="muted">
            The reliability diagram appears once enough replies have been confirmed or corrected
            (${scores.samples ?? 0} so far).
          </p>`}
      </section>
    `;
  }
}
customElements.define("sm-assurance-card", SmAssuranceCard);

declare global {
  interface HTMLElementTagNameMap {
    "sm-assurance-card": SmAssuranceCard;
  }
}
