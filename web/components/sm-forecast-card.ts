/**
 * `<sm-forecast-card>` (spec/dashboard.md §5.3, mind.md §6): the last 20
 * forecast/actual pairs — the most probable forecast, its probability, the
 * message that came and the error (surprise = 1 − the best similarity, named
 * with the closest forecast when that is another) — latest resolution first,
 * and the rolling alignment over windows of 20 resolved sets. Reloads when
 * a forecast is resolved. Texts wrap between words; only a
 * token too long for a line (a URL, an id) may break inside.
 *
 * @module
 */
import { css, html, nothing } from "lit";
import { CardElement, cardStyles, SETTLE_MS } from "../app/card.ts";
import { shortTime } from "../lib/format.ts";
import { rollingMean } from "../lib/mind_stats.ts";
import type { TimeRow } from "../lib/time_ring.ts";
import type { ForecastAccuracy, ForecastCalibration, ForecastSet } from "../state/types.ts";
import { shared } from "../theme/shared.ts";
import type { SeriesSpec } from "./sm-timeseries.ts";
import "./sm-timeseries.ts";

const WINDOW = 20;
const PAIRS = 20;
/** Threads whose messages are read to show what actually came. */
const MAX_THREADS = 5;
const SERIES: SeriesSpec[] = [{ label: `Alignment (rolling ${WINDOW})`, colour: "accent" }];
const RANGE: [number, number] = [0, 1];
/** Tokens at least this long (a URL, an id) may break anywhere; words never do ("Contin / ue"). */
const LONG_TOKEN = /(\S{24,})/;

interface Loaded {
  resolved: ForecastSet[];
  /** The table's rows: the latest resolutions. */
  shown: ForecastSet[];
  calibration: ForecastCalibration;
  /** The user's message of each resolving turn, by turn id. */
  actual: Map<string, string>;
}

/** A text whose long tokens may break anywhere, so they do not widen the table. */
function wrapping(text: string) {
  return text.split(LONG_TOKEN).map((part, index) =>
    index % 2 ? html`<span class="long">${part}</span>` : part
  );
}

/** Resolved sets, the latest resolution first (the table's first column). */
function newestResolvedFirst(sets: readonly ForecastSet[]): ForecastSet[] {
  return sets.filter((set) => set.resolved_at && set.resolution)
    .sort((a, b) => Date.parse(b.resolved_at!) - Date.parse(a.resolved_at!));
}

/** The mind's accuracy over every conversation (the chart below is of the forecasts listed). */
function accuracyLine(accuracy: ForecastAccuracy): string {
  return `The mind's last ${accuracy.sets} resolved, in every conversation: alignment ${
    accuracy.alignment.toFixed(2)
  }, surprise ${accuracy.surprise.toFixed(2)}, intent hits ${
    (accuracy.intent_hit_rate * 100).toFixed(0)
  } %`;
}

/** The forecasts card. */
export class SmForecastCard extends CardElement {
  /** Only a resolution changes what the card shows (a new set waiting changes nothing here). */
  #resolved = this.select((s) =>
    (s.mind.state?.mind as { psyche_dreaming?: { counts?: { resolved?: number } } } | undefined)
      ?.psyche_dreaming?.counts?.resolved ?? null
  );
  /**
   * The messages that came, by resolving turn, kept across reloads for the rows shown: each
   * thread is read once for them. A turn looked for and not found (forgotten, or older than a
   * thread's newest 200 messages) is remembered too, so it is not read for again.
   */
  #actual = new Map<string, string>();
  #missing = new Set<string>();
  #task = this.load(() => [this.#resolved.value] as const, async (_args, signal) => {
    const api = this.services.api;
    const [resolved, calibration] = await Promise.all([
      api.forecasts({ status: "resolved", limit: 200 }, signal),
      api.forecastCalibration(WINDOW, signal),
    ]);
    const shown = newestResolvedFirst(resolved).slice(0, PAIRS);
    const wanted = new Set(shown.map((set) => set.resolution!.turn_id));
    const actual = this.#actual;
    for (const turnId of actual.keys()) if (!wanted.has(turnId)) actual.delete(turnId);
    for (const turnId of this.#missing) if (!wanted.has(turnId)) this.#missing.delete(turnId);
    const unknown = shown.filter((set) =>
      !actual.has(set.resolution!.turn_id) && !this.#missing.has(set.resolution!.turn_id)
    );
    const threads = [...new Set(unknown.map((set) => set.thread_id))].slice(0, MAX_THREADS);
    // Threads read in full: only their turns not found are remembered as missing (a read that
    // failed, or was aborted by a newer load, proves nothing).
    const read = new Set<string>();
    await Promise.all(threads.map(async (threadId) => {
      let messages;
      try {
        messages = await api.messages(threadId, signal);
      } catch {
        return;
      }
      if (signal.aborted) return;
      read.add(threadId);
      for (const message of messages.items) {
        if (message.role === "user" && typeof message.turn_id === "string") {
          if (wanted.has(message.turn_id)) {
            actual.set(message.turn_id, String(message.content ?? ""));
          }
        }
      }
    }));
    for (const set of unknown) {
      if (read.has(set.thread_id) && !actual.has(set.resolution!.turn_id)) {
        this.#missing.add(set.resolution!.turn_id);
      }
    }
    return { resolved, shown, calibration, actual } satisfies Loaded;
  }, { settleMs: SETTLE_MS });

  static override styles = [
    shared,
    cardStyles,
    css`
      .text {
        overflow-wrap: break-word;
      }
      .long {
        overflow-wrap: anywhere;
      }
      .table-box {
        max-height: 320px;
        overflow: auto;
      }
      /* Five columns whose words do not break: compact, so they fit a card's width. */
      .table-box table {
        font-size: 0.9rem;
      }
      .table-box th,
      .table-box td {
        padding: 6px;
      }
    `,
  ];

  #summary(calibration: ForecastCalibration) {
    const accuracy: ForecastAccuracy | null = calibration[calibration.embedder] ??
      calibration.semantic ?? calibration.lexical;
    return html`
      <p>
        Embedder: <strong>${calibration.embedder}</strong>${calibration.note
          ? html`
            <span class="muted">(${calibration.note})</span>
          `
          : nothing}
      </p>
      ${accuracy
        ? html`<p class="stat">${accuracyLine(accuracy)}</p>`
        : html`<p class="muted">No forecast has been resolved yet.</p>`}
      ${calibration.parse_failure_rate === null
        ? nothing
        : html`<p class="muted stat">Unparseable forecasts: ${
          (calibration.parse_failure_rate * 100)
            .toFixed(0)
        } %</p>`}
    `;
  }

  #pairs(sets: ForecastSet[], actual: Map<string, string>) {
    if (sets.length === 0) return nothing;
    return html`
      <div class="table-box" tabindex="0" role="region" aria-label="Forecast and actual pairs">
        <table class="stack">
          <caption class="sr-only">The last ${sets.length} forecasts and what came</caption>
          <thead>
            <tr>
              <th scope="col">Resolved</th>
              <th scope="col">Forecast</th>
              <th scope="col">p</th>
              <th scope="col">Actual</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            ${sets.map((set) => {
              const top = [...set.items].sort((a, b) => b.p - a.p)[0];
              // The error is measured against the closest forecast, which may not be the likeliest.
              const closest = set.resolution ? set.items[set.resolution.best] : undefined;
              const message = set.resolution ? actual.get(set.resolution.turn_id) : undefined;
              return html`
                <tr>
                  <td data-label="Resolved">${set.resolved_at
                    ? shortTime(set.resolved_at)
                    : "–"}</td>
                  <td data-label="Forecast" class="text">${top
                    ? wrapping(top.text)
                    : "–"}${closest &&
                      closest !== top
                    ? html`<br><span class="muted">closest: ${wrapping(closest.text)}</span>`
                    : nothing}</td>
                  <td data-label="p" class="stat">${top ? top.p.toFixed(2) : "–"}</td>
                  <td data-label="Actual" class="text">${message !== undefined
                    ? wrapping(message)
                    : html`
                      <span class="muted"
                      >not shown</span>
                    `}</td>
                  <td data-label="Error" class="stat">${set.resolution
                    ? set.resolution.surprise.toFixed(2)
                    : "–"}</td>
                </tr>
              `;
            })}
          </tbody>
        </table>
      </div>
    `;
  }

  #complete = ({ resolved, shown, calibration, actual }: Loaded) => {
    const ordered = resolved.filter((set) => set.resolution && set.resolved_at)
      .map((set) => ({ t: Date.parse(set.resolved_at!), v: set.resolution!.alignment }))
      .sort((a, b) => a.t - b.t);
    const points: TimeRow[] = rollingMean(ordered, WINDOW).map((point) => ({
      t: point.t,
      values: [point.v],
    }));
    return html`
      ${this.#summary(calibration)}
      <sm-timeseries
        label="Alignment of the forecasts listed here, rolling mean over ${WINDOW} resolved forecasts"
        .series=${SERIES} .points=${points} .range=${RANGE}></sm-timeseries>
      ${this.#pairs(shown, actual)}
    `;
  };

  override render(): unknown {
    return html`
      <section class="card" aria-labelledby="forecast-h">
        <h2 id="forecast-h">Forecasts</h2>
        ${this.renderTask(this.#task, this.#complete)}
      </section>
    `;
  }
}
customElements.define("sm-forecast-card", SmForecastCard);

declare global {
  interface HTMLElementTagNameMap {
    "sm-forecast-card": SmForecastCard;
  }
}
