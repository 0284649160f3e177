/**
 * `<page-mind>` (spec/dashboard.md §5.3): the affect card — P, A, D on
 * −1…1 with values and the mood, and a live line of P/A/D fed by
 * `state.delta` (SVG geometry attributes, no style attributes) with the
 * latest values as a caption and a data table toggle.
 *
 * @module
 */
import { css, html, nothing, svg } from "lit";
import { SmElement } from "../app/base.ts";
import { signed } from "../lib/format.ts";
import { shared } from "../theme/shared.ts";

type Affect = {
  p: number;
  a: number;
  d: number;
  mood?: string;
  baseline?: { p: number; a: number; d: number };
};

/** The Mind page. */
export class PageMind extends SmElement {
  static override properties = { table: { state: true }, error: { state: true } };
  declare table: boolean;
  declare error: string;
  #mind = this.select((s) => s.mind);
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      .grid {
        display: grid;
        gap: var(--sm-gap);
        grid-template-columns: 1fr;
      }
      @media (min-width: 600px) {
        .grid {
          grid-template-columns: 1fr 1fr;
        }
      }
      @media (min-width: 1200px) {
        .grid {
          grid-template-columns: 1fr 1fr 1fr;
        }
      }
      meter {
        width: 100%;
        height: 16px;
      }
      svg {
        width: 100%;
        height: 120px;
      }
      .p {
        stroke: var(--sm-chart-p);
      }
      .a {
        stroke: var(--sm-chart-a);
      }
      .d {
        stroke: var(--sm-chart-d);
      }
      polyline {
        fill: none;
        stroke-width: 2;
      }
      .axis {
        stroke: var(--sm-border);
        stroke-width: 1;
      }
    `,
  ];

  constructor() {
    super();
    this.table = false;
    this.error = "";
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.services.api.state().then(
      (state) => this.services.store.dispatch({ type: "mind/loaded", state }),
      (error) => (this.error = String(error?.message ?? error)),
    );
  }

  #line(points: Array<{ t: number; p: number; a: number; d: number }>, key: "p" | "a" | "d") {
    if (points.length < 2) return nothing;
    const t0 = points[0]!.t;
    const span = Math.max(1, points.at(-1)!.t - t0);
    const coords = points.map((point) => `${((point.t - t0) / span) * 300},${60 - point[key] * 55}`)
      .join(" ");
    return svg`<polyline class=${key} points=${coords}></polyline>`;
  }

  override render(): unknown {
    const mind = this.#mind.value;
    const state = mind?.state as Record<string, unknown> | null | undefined;
    const affect = (state?.mind as { affect?: Affect } | undefined)?.affect;
    const history = (mind?.history ?? []).filter((point) => point.t >= Date.now() - 60 * 60_000);
    const bar = (label: string, value: number | undefined) =>
      html`<label>${label}: ${signed(value)}
        <meter min="-1" max="1" low="-0.34" high="0.34" optimum="0" .value=${
        value ?? 0
      }></meter></label>`;
    return html`
      <h1 tabindex="-1">Mind</h1>
            ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
            <div class="grid">
        <section class="card" aria-labelledby="affect-h">
                <h2 id="affect-h">Affect</h2>
                ${affect
                  ? html`
                    <p>Mood: <strong data-mood>${affect.mood ??
                      (state?.mood_tags as string[] | undefined)?.[0] ?? "–"}</strong></p>
                                  ${bar("Pleasure", affect.p)}${bar("Arousal", affect.a)}${bar(
                                    "Dominance",
                                    affect.d,
                                  )}
                                  <svg viewBox="0 0 300 120" role="img"
                      aria-label="Pleasure, arousal and dominance over the last hour">
                                    <line class="axis" x1="0" y1="60" x2="300" y2="60"></line>
                                    ${this.#line(history, "p")}${this.#line(history, "a")}${this
                                      .#line(history, "d")}
                                  </svg>
                                  <p class="muted"
                      data-points=${history.length}>${history.length} points · latest P ${signed(
                        affect.p,
                      )}, A ${signed(affect.a)}, D ${signed(affect.d)}</p>
                                  <button @click=${() => (this.table = !this
                                    .table)} aria-expanded=${this.table
                                    ? "true"
                                    : "false"}>Show data</button>
                                  ${this.table
                                    ? html`
                                      <table>
                                        <thead>
                                          <tr>
                                            <th>Time</th>
                                            <th>P</th>
                                            <th>A</th>
                                            <th>D</th>
                                          </tr>
                                        </thead>
                                        <tbody>
                                                        ${history.slice(-20).map((point) =>
                                                          html`
                                                            <tr>
                                                              <td>${new Date(point.t)
                                                                .toLocaleTimeString()}</td>
                                                              <td>${signed(point.p)}</td>
                                                              <td>${signed(point.a)}</td>
                                                              <td>${signed(point.d)}</td>
                                                            </tr>
                                                          `
                                                        )}
                                                        </tbody>
                                      </table>
                                    `
                                    : nothing}
                  `
                  : html`<p class="muted">Loading…</p>`}
              </section>
      </div>
    `;
  }
}
customElements.define("page-mind", PageMind);

declare global {
  interface HTMLElementTagNameMap {
    "page-mind": PageMind;
  }
}
