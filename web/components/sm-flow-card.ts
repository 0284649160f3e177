/**
 * `<sm-flow-card>` (spec/dashboard.md §5.3, mind.md §10): calibration and
 * flow — the difficulty estimate (challenge against the user's skill, 0.5
 * balanced) over time, from the REST history the page passes in (`past`)
 * then the store's live points, and the current state (bored, flow,
 * overloaded) in words with its reward and outputs.
 *
 * @module
 */
import { css, html, nothing } from "lit";
import { cardStyles } from "../app/card.ts";
import { SmElement } from "../app/base.ts";
import { signed } from "../lib/format.ts";
import type { TimeRow } from "../lib/time_ring.ts";
import { shared } from "../theme/shared.ts";
import type { SeriesSpec } from "./sm-timeseries.ts";
import "./sm-timeseries.ts";

interface Calibration {
  ema?: number | null;
  state?: string;
  reward?: number | null;
  outputs?: { temperature_offset?: number; verbosity?: number; question_rate?: number } | null;
}

const HOUR = 3_600_000;
const RANGE: [number, number] = [0, 1];
const SERIES: SeriesSpec[] = [{ label: "Difficulty", colour: "accent" }];
const STATES: Record<string, { label: string; meaning: string; tone: string }> = {
  bored: { label: "Bored", meaning: "the conversation is too easy for the user", tone: "warn" },
  flow: { label: "Flow", meaning: "challenge and skill are in balance", tone: "ok" },
  overloaded: {
    label: "Overloaded",
    meaning: "the conversation is too hard for the user",
    tone: "error",
  },
};

/** The calibration and flow card. */
export class SmFlowCard extends SmElement {
  static override properties = { past: { attribute: false } };
  /** Difficulty points from `/api/state/history`, oldest first. */
  declare past: TimeRow[];
  #calibration = this.select((s) =>
    (s.mind.state?.mind as { psyche_calibration?: Calibration } | undefined)
      ?.psyche_calibration ?? null
  );
  #history = this.select((s) => s.mind.history);

  static override styles = [
    shared,
    cardStyles,
    css`
      .state {
        font-size: 1.2rem;
        font-weight: 700;
      }
      dl {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 2px 12px;
        margin: 8px 0;
      }
      dd {
        margin: 0;
      }
    `,
  ];

  constructor() {
    super();
    this.past = [];
  }

  override render(): unknown {
    const calibration = this.#calibration.value;
    const live = (this.#history.value ?? []).filter((point) => point.ema !== undefined);
    const firstLive = live[0]?.t ?? Infinity;
    const points: TimeRow[] = [
      ...this.past.filter((row) => row.t < firstLive),
      ...live.map((point) => ({ t: point.t, values: [point.ema ?? null] })),
    ];
    const state = STATES[calibration?.state ?? ""];
    const outputs = calibration?.outputs;
    return html`
      <section class="card" aria-labelledby="flow-h">
        <h2 id="flow-h">Calibration and flow</h2>
        ${calibration && state
          ? html`
            <p><span class="state ${state.tone}" data-flow=${calibration.state!}>${state
              .label}</span>:
              ${state.meaning}.</p>
            <dl class="stat">
              <dt>Difficulty</dt>
              <dd>${typeof calibration.ema === "number" ? calibration.ema.toFixed(2) : "–"}
                <span class="muted">(0 too easy, 0.5 balanced, 1 too hard)</span></dd>
              <dt>Reward</dt>
              <dd>${signed(calibration.reward)}</dd>
              ${outputs
                ? html`
                  <dt>Temperature</dt>
                  <dd>${signed(outputs.temperature_offset)}</dd>
                  <dt>Verbosity</dt>
                  <dd>${signed(outputs.verbosity)}</dd>
                  <dt>Questions</dt>
                  <dd>${typeof outputs.question_rate === "number"
                    ? outputs.question_rate.toFixed(2)
                    : "–"}</dd>
                `
                : nothing}
            </dl>
          `
          : html`<p class="muted" role="status">No calibration yet.</p>`}
        <sm-timeseries label="Difficulty (challenge against skill) over the last 60 minutes"
          .series=${SERIES} .points=${points} window-ms=${HOUR} .range=${RANGE}></sm-timeseries>
      </section>
    `;
  }
}
customElements.define("sm-flow-card", SmFlowCard);

declare global {
  interface HTMLElementTagNameMap {
    "sm-flow-card": SmFlowCard;
  }
}
