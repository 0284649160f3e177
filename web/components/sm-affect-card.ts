/**
 * `<sm-affect-card>` (spec/dashboard.md §5.3, mind.md §5): P, A and D as
 * bars on −1…1 with their values and baseline markers, the mood, and a
 * live chart of the last 60 minutes — the REST history the page passes in
 * (`past`), then every `state.delta` through the store's `mind.history`.
 *
 * @module
 */
import { css, html, nothing, svg } from "lit";
import { cardStyles } from "../app/card.ts";
import { SmElement } from "../app/base.ts";
import { signed } from "../lib/format.ts";
import type { TimeRow } from "../lib/time_ring.ts";
import { shared } from "../theme/shared.ts";
import type { SeriesSpec } from "./sm-timeseries.ts";
import "./sm-timeseries.ts";

type Triple = { p: number; a: number; d: number };
type Affect = Triple & { mood?: string; baseline?: Triple; intensity?: number };

const HOUR = 3_600_000;
const RANGE: [number, number] = [-1, 1];
const DIMENSIONS = [
  { key: "p", name: "Pleasure", colour: "chart-p" },
  { key: "a", name: "Arousal", colour: "chart-a" },
  { key: "d", name: "Dominance", colour: "chart-d" },
] as const;
const SERIES: SeriesSpec[] = [
  { label: "P", colour: "chart-p" },
  { label: "A", colour: "chart-a", dash: [6, 4] },
  { label: "D", colour: "chart-d", dash: [2, 3] },
];

/** x of a value on the 0…200 bar. */
const x = (value: number) => 100 + Math.max(-1, Math.min(1, value)) * 100;

/** The affect card. */
export class SmAffectCard extends SmElement {
  static override properties = { past: { attribute: false } };
  /** P/A/D points from `/api/state/history`, oldest first (before the live ones). */
  declare past: TimeRow[];
  #affect = this.select((s) =>
    (s.mind.state?.mind as { affect?: Affect } | undefined)?.affect ?? null
  );
  #history = this.select((s) => s.mind.history);

  static override styles = [
    shared,
    cardStyles,
    css`
      .dims {
        display: grid;
        gap: 8px;
        margin: 8px 0 12px;
      }
      .dim {
        display: grid;
        grid-template-columns: minmax(0, 1fr) auto;
        gap: 2px 8px;
        align-items: baseline;
      }
      .dim svg {
        grid-column: 1 / -1;
        width: 100%;
        height: 16px;
      }
      .track {
        fill: var(--sm-surface2);
      }
      .zero {
        stroke: var(--sm-muted);
        stroke-width: 1;
      }
      .baseline {
        stroke: var(--sm-text);
        stroke-width: 2;
      }
      .fill-chart-p {
        fill: var(--sm-chart-p);
      }
      .fill-chart-a {
        fill: var(--sm-chart-a);
      }
      .fill-chart-d {
        fill: var(--sm-chart-d);
      }
    `,
  ];

  constructor() {
    super();
    this.past = [];
  }

  #bar(name: string, colour: string, value: number, baseline: number | undefined) {
    const from = Math.min(x(0), x(value));
    return html`
      <div class="dim">
        <span>${name}</span>
        <span class="stat"><strong data-dim=${name}>${signed(
          value,
        )}</strong>${baseline === undefined ? nothing : html`
          <span class="muted">(baseline ${signed(baseline)})</span>
        `}</span>
        <svg viewBox="0 0 200 16" preserveAspectRatio="none" aria-hidden="true">
          <rect class="track" x="0" y="4" width="200" height="8" rx="4"></rect>
          <rect class="fill-${colour}" x=${from} y="4" width=${Math.abs(x(value) - x(0))}
            height="8"></rect>
          <line class="zero" x1="100" y1="2" x2="100" y2="14"></line>
          ${baseline === undefined
            ? nothing
            : svg`<line class="baseline" x1=${x(baseline)} y1="0" x2=${
              x(baseline)
            } y2="16"></line>`}
        </svg>
      </div>
    `;
  }

  override render(): unknown {
    const affect = this.#affect.value;
    const live = this.#history.value ?? [];
    const firstLive = live[0]?.t ?? Infinity;
    const points: TimeRow[] = [
      ...this.past.filter((row) => row.t < firstLive),
      ...live.map((point) => ({ t: point.t, values: [point.p, point.a, point.d] })),
    ];
    return html`
      <section class="card" aria-labelledby="affect-h">
        <h2 id="affect-h">Affect</h2>
        ${affect
          ? html`
            <p>Mood: <strong data-mood>${affect.mood ??
              "–"}</strong>${affect.intensity === undefined ? nothing : html`
              <span class="muted">(intensity ${affect.intensity.toFixed(2)})</span>
            `}</p>
            <div class="dims">
              ${DIMENSIONS.map((dim) =>
                this.#bar(dim.name, dim.colour, affect[dim.key], affect.baseline?.[dim.key])
              )}
            </div>
          `
          : html`<p class="muted" role="status">Waiting for the mind's state…</p>`}
        <sm-timeseries label="Pleasure, arousal and dominance over the last 60 minutes"
          .series=${SERIES} .points=${points} window-ms=${HOUR} .range=${RANGE}
          .format=${signed}></sm-timeseries>
      </section>
    `;
  }
}
customElements.define("sm-affect-card", SmAffectCard);

declare global {
  interface HTMLElementTagNameMap {
    "sm-affect-card": SmAffectCard;
  }
}
