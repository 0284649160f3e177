/**
 * `<sm-timeseries>` (spec/dashboard.md §5.3 "Charts"): a live line chart
 * wrapping uPlot.
 * - A ring buffer keeps at most 2,000 points per series (`points` loads
 *   its newest rows; `addPoint()` adds one).
 * - At most one draw per animation frame, none while the tab is hidden.
 * - Its width follows a ResizeObserver.
 * - Colours are read from CSS custom properties at draw time, and the chart
 *   redraws when the colour scheme changes.
 * - A caption gives the latest values and the number of points (each line
 *   also has its own dash pattern, so colour is never the only cue); "Show
 *   data" shows the last 20 points as a table.
 *
 * uPlot's stylesheet comes from the pinned package (`uplot_css.ts`, built by
 * `gen_uplot_css.ts`); uPlot itself writes styles only through the CSSOM,
 * which the CSP allows.
 *
 * @module
 */
import { css, html, LitElement, nothing, unsafeCSS } from "lit";
import uPlot from "uplot";
import { MAX_POINTS, TimeRing, type TimeRow } from "../lib/time_ring.ts";
import { tickLabels } from "../lib/format.ts";
import { shared } from "../theme/shared.ts";
import { UPLOT_CSS } from "./uplot_css.ts";

/** The palette tokens a line may take (`--sm-<token>`). */
export type SeriesColour = "chart-p" | "chart-a" | "chart-d" | "accent" | "ok" | "warn" | "danger";

/** One line of the chart. */
export interface SeriesSpec {
  label: string;
  colour: SeriesColour;
  /** Canvas dash pattern; distinct per line so colour is never the only cue. */
  dash?: number[];
}

const HEIGHT = 160;
const TABLE_ROWS = 20;

/** A time-series chart. */
export class SmTimeseries extends LitElement {
  static override properties = {
    label: {},
    series: { attribute: false },
    points: { attribute: false },
    windowMs: { type: Number, attribute: "window-ms" },
    range: { attribute: false },
    format: { attribute: false },
    showData: { state: true },
  };
  /** What the chart shows; its accessible name and caption title. */
  declare label: string;
  declare series: SeriesSpec[];
  /** Rows oldest first; a longer array extending the previous one only appends. */
  declare points: TimeRow[];
  /** Only the last `windowMs` are plotted (0: everything held). */
  declare windowMs: number;
  /** A fixed y range, else uPlot's automatic one. */
  declare range: [number, number] | null;
  declare format: (value: number) => string;
  declare showData: boolean;

  #ring: TimeRing = new TimeRing(1, MAX_POINTS);
  #plot: uPlot | null = null;
  #resize: ResizeObserver | null = null;
  #scheme: MediaQueryList | null = null;
  #frame = 0;
  #dirty = false;
  #colours: string[] = [];
  #axis = "";
  #grid = "";

  static override styles = [
    shared,
    unsafeCSS(UPLOT_CSS),
    css`
      :host {
        display: block;
        min-width: 0;
      }
      figure {
        margin: 0;
      }
      .plot {
        width: 100%;
        min-height: ${HEIGHT}px;
        overflow: hidden;
      }
      figcaption {
        display: flex;
        flex-wrap: wrap;
        gap: 4px 12px;
        align-items: center;
        font-size: 0.9rem;
        margin: 4px 0;
      }
      .key {
        display: inline-flex;
        gap: 4px;
        align-items: center;
      }
      .key svg {
        width: 24px;
        height: 8px;
      }
      .key line {
        stroke-width: 2;
      }
      .c-chart-p {
        stroke: var(--sm-chart-p);
      }
      .c-chart-a {
        stroke: var(--sm-chart-a);
      }
      .c-chart-d {
        stroke: var(--sm-chart-d);
      }
      .c-accent {
        stroke: var(--sm-accent);
      }
      .c-ok {
        stroke: var(--sm-ok);
      }
      .c-warn {
        stroke: var(--sm-warn);
      }
      .c-danger {
        stroke: var(--sm-danger);
      }
      table {
        font-size: 0.9rem;
        margin-top: 4px;
      }
    `,
  ];

  constructor() {
    super();
    this.label = "";
    this.series = [];
    this.points = [];
    this.windowMs = 0;
    this.range = null;
    this.format = (value) => value.toFixed(2);
    this.showData = false;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    document.addEventListener("visibilitychange", this.#visible);
    this.#scheme = matchMedia("(prefers-color-scheme: dark)");
    this.#scheme.addEventListener("change", this.#schedule);
    if (this.hasUpdated) this.#create();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener("visibilitychange", this.#visible);
    this.#scheme?.removeEventListener("change", this.#schedule);
    if (this.#frame) cancelAnimationFrame(this.#frame);
    this.#frame = 0;
    this.#resize?.disconnect();
    this.#resize = null;
    this.#plot?.destroy();
    this.#plot = null;
  }

  /** The rows plotted now (the window's). */
  get shown(): number {
    return this.#ring.columns(this.#since())[0].length;
  }

  protected override willUpdate(changed: Map<PropertyKey, unknown>): void {
    if (changed.has("series") && this.#ring.series !== Math.max(1, this.series.length)) {
      this.#ring = new TimeRing(Math.max(1, this.series.length), MAX_POINTS);
      if (this.#plot) {
        this.#plot.destroy();
        this.#plot = null;
        if (this.hasUpdated) void this.updateComplete.then(() => this.#create());
      }
    }
    if (changed.has("points") || changed.has("series")) this.#sync(this.points);
    const before = changed.get("range") as [number, number] | null | undefined;
    const rangeChanged = changed.has("range") &&
      (before?.[0] !== this.range?.[0] || before?.[1] !== this.range?.[1]);
    if (rangeChanged && this.#plot) {
      this.#plot.destroy();
      this.#plot = null;
      void this.updateComplete.then(() => this.#create());
    }
  }

  /** Loads the newest rows of `points` (at most 2,000) into the ring. */
  #sync(points: readonly TimeRow[]) {
    this.#ring.clear();
    for (const row of points.slice(-MAX_POINTS)) this.#ring.push(row.t, row.values);
    this.#schedule();
  }

  /** Appends one row (a live feed without a `points` array); the oldest goes beyond 2,000. */
  addPoint(row: TimeRow): void {
    this.#ring.push(row.t, row.values);
    this.#schedule();
    this.requestUpdate();
  }

  protected override firstUpdated(): void {
    this.#create();
  }

  #since(): number {
    return this.windowMs > 0 ? Date.now() - this.windowMs : -Infinity;
  }

  /**
   * Where the time axis starts: the window's start, or a little before the first point when the
   * history is younger than the window (a new server's points would crowd its right edge).
   */
  /** Now, or the newest point when the server's clock runs ahead of this one. */
  #axisEnd(): number {
    return Math.max(Date.now(), this.#ring.lastT ?? -Infinity);
  }

  #axisStart(): number {
    const since = this.#since();
    const first = this.#ring.firstTime(since);
    if (first === undefined) return since;
    const now = Date.now();
    // At least the last minute, also when the server's clock runs ahead of this one.
    return Math.max(since, Math.min(now - 60_000, first - Math.max(60_000, (now - first) * 0.1)));
  }

  #create() {
    const target = this.renderRoot.querySelector<HTMLElement>(".plot");
    if (!target || this.#plot) return;
    this.#readColours();
    const axis = {
      stroke: () => this.#axis,
      grid: { stroke: () => this.#grid, width: 1 },
      ticks: { stroke: () => this.#grid, width: 1 },
    };
    this.#plot = new uPlot(
      {
        width: Math.max(200, target.clientWidth || 300),
        height: HEIGHT,
        legend: { show: false },
        cursor: { show: false },
        scales: {
          x: {
            time: true,
            ...(this.windowMs > 0
              ? {
                range: (): [number, number] => [this.#axisStart() / 1_000, this.#axisEnd() / 1_000],
              }
              : {}),
          },
          y: this.range ? { range: [this.range[0], this.range[1]] } : {},
        },
        // Time ticks at least 80 px apart, one line each (uPlot's default stacks dates over times).
        axes: [{ ...axis, space: 80, values: (_u, ticks) => tickLabels(ticks) }, {
          ...axis,
          // Wide enough for the longest label ("-0.50", "1.2k/s"), so none is cut at the left.
          size: (_u, values) =>
            Math.max(48, 24 + 8 * Math.max(0, ...(values ?? []).map((v) => String(v).length))),
          values: (_u, ticks) => ticks.map((v) => this.format(v)),
        }],
        series: [
          {},
          ...this.series.map((spec, index) => ({
            label: spec.label,
            stroke: () => this.#colours[index] ?? this.#axis,
            width: 2,
            ...(spec.dash ? { dash: spec.dash } : {}),
            points: { show: false },
          })),
        ],
      },
      this.#ring.columns(this.#since()),
      target,
    );
    this.#resize = new ResizeObserver((entries) => {
      const width = Math.floor(entries[0]?.contentRect.width ?? 0);
      if (width > 0 && this.#plot && width !== this.#plot.width) {
        this.#plot.setSize({ width, height: HEIGHT });
      }
    });
    this.#resize.observe(target);
  }

  #readColours() {
    const style = getComputedStyle(this);
    const token = (name: string) => style.getPropertyValue(`--sm-${name}`).trim();
    this.#colours = this.series.map((spec) => token(spec.colour));
    this.#axis = token("muted");
    this.#grid = token("surface2");
  }

  /** At most one draw per frame; none while hidden (drawn when the tab shows again). */
  #schedule = () => {
    this.#dirty = true;
    if (this.#frame || document.hidden) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#draw();
    });
  };

  #visible = () => {
    if (!document.hidden && this.#dirty) this.#schedule();
  };

  #draw() {
    if (!this.#plot || document.hidden) return;
    this.#dirty = false;
    this.#readColours();
    this.#plot.setData(this.#ring.columns(this.#since()));
  }

  #key(spec: SeriesSpec, value: number | null | undefined) {
    return html`<span class="key">
      <svg viewBox="0 0 24 8" aria-hidden="true"><line class="c-${spec.colour}" x1="0" y1="4" x2="24"
        y2="4" stroke-dasharray=${spec.dash?.join(" ") ?? nothing}></line></svg>
      ${spec.label} ${value === null || value === undefined ? "–" : this.format(value)}
    </span>`;
  }

  #table(rows: TimeRow[]) {
    return html`
      <table class="stack">
        <caption class="sr-only">${this.label}: the last ${rows.length} points</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            ${this.series.map((spec) => html`<th scope="col">${spec.label}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${rows.map((row) =>
            html`
              <tr>
                <td data-label="Time">${new Date(row.t).toLocaleTimeString()}</td>
                ${this.series.map((spec, i) => {
                  const value = row.values[i];
                  return html`<td data-label=${spec.label}>${
                    value === null || value === undefined ? "–" : this.format(value)
                  }</td>`;
                })}
              </tr>
            `
          )}
        </tbody>
      </table>
    `;
  }

  override render(): unknown {
    const last = this.#ring.last();
    const shown = this.shown;
    const rows = this.#ring.tail(TABLE_ROWS).filter((row) => row.t >= this.#since());
    return html`
      <figure>
        <div class="plot" role="img" aria-label="${this
          .label}: line chart of ${shown} points"></div>
        <figcaption data-points=${shown}>
          ${this.series.map((spec, i) => this.#key(spec, last?.values[i]))}
          <span class="muted">${shown} ${shown === 1 ? "point" : "points"}</span>
        </figcaption>
      </figure>
      <button type="button" aria-expanded=${this.showData
        ? "true"
        : "false"} @click=${() => (this.showData = !this.showData)}>${this.showData
        ? "Hide data"
        : "Show data"}</button>
      ${this.showData
        ? rows.length ? this.#table(rows) : html`<p class="muted">No points yet.</p>`
        : nothing}
    `;
  }
}
customElements.define("sm-timeseries", SmTimeseries);

declare global {
  interface HTMLElementTagNameMap {
    "sm-timeseries": SmTimeseries;
  }
}
