/**
 * `<page-mind>` (spec/dashboard.md §5.3): the mind's cards in a grid of 1,
 * 2 or 3 columns (< 600, < 1200, ≥ 1200 px) — affect, forecasts,
 * assurance, reflections, narrative, calibration and flow, token spend —
 * and a link to the memory browser. The page loads the mind's state and
 * the last hour of `/api/state/history` for the charts; the cards load
 * their own records and follow `state.delta` through the store.
 *
 * @module
 */
import { css, html, nothing } from "lit";
import { ApiError } from "../api/client.ts";
import { CardElement, errorText } from "../app/card.ts";
import type { TimeRow } from "../lib/time_ring.ts";
import { shared } from "../theme/shared.ts";
import "../components/sm-affect-card.ts";
import "../components/sm-assurance-card.ts";
import "../components/sm-flow-card.ts";
import "../components/sm-forecast-card.ts";
import "../components/sm-narrative-card.ts";
import "../components/sm-reflections-card.ts";
import "../components/sm-spend-card.ts";

const HOUR = 3_600_000;
const NONE: TimeRow[] = [];

interface Past {
  affect: TimeRow[];
  difficulty: TimeRow[];
  /** Why there is no history, when there is none. */
  note: string | null;
}

/** The Mind page. */
export class PageMind extends CardElement {
  static override properties = { error: { state: true } };
  declare error: string;
  #stale = this.select((s) => s.mind.stale);
  #past = this.load(() => [] as const, async (_args, signal): Promise<Past> => {
    try {
      const items = await this.services.api.stateHistory(new Date(Date.now() - HOUR), signal);
      const rows = items.map((item) => ({ t: Date.parse(item.at), item }))
        .filter((row) => Number.isFinite(row.t)).sort((a, b) => a.t - b.t);
      return {
        affect: rows.filter((row) => row.item.affect).map((row) => ({
          t: row.t,
          values: [row.item.affect!.p, row.item.affect!.a, row.item.affect!.d],
        })),
        difficulty: rows.filter((row) => typeof row.item.calibration?.ema === "number").map((
          row,
        ) => ({ t: row.t, values: [row.item.calibration!.ema!] })),
        note: null,
      };
    } catch (error) {
      // A server without the history route: the charts start with the live points.
      if (error instanceof ApiError && error.status === 404) {
        return { affect: [], difficulty: [], note: "Charts start from now: no history is kept." };
      }
      throw error;
    }
  });

  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      .head {
        justify-content: space-between;
      }
      .head a {
        display: inline-block;
        padding: 10px 0;
        min-height: 44px;
      }
      .grid {
        display: grid;
        gap: var(--sm-gap);
        grid-template-columns: minmax(0, 1fr);
        align-items: start;
      }
      @media (min-width: 600px) {
        .grid {
          grid-template-columns: repeat(2, minmax(0, 1fr));
        }
      }
      @media (min-width: 1200px) {
        .grid {
          grid-template-columns: repeat(3, minmax(0, 1fr));
        }
      }
    `,
  ];

  constructor() {
    super();
    this.error = "";
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void this.#loadState();
  }

  /** The state until the socket's snapshot arrives (or when the socket is down). */
  async #loadState() {
    try {
      const state = await this.services.api.state();
      if (this.services.store.state.mind.version === null) {
        this.services.store.dispatch({ type: "mind/loaded", state });
      }
      this.error = "";
    } catch (error) {
      this.error = errorText(error);
    }
  }

  override render(): unknown {
    const past = this.#past.value;
    return html`
      <div class="row head">
        <h1 tabindex="-1">Mind</h1>
        <a href="/mind/memory">Memory browser</a>
      </div>
      ${this.error
        ? html`
          <p class="error"
            role="alert">${this.error} <button type="button" @click=${() =>
              void this.#loadState()}>Retry</button></p>
        `
        : nothing}
      ${this.#stale.value
        ? html`<p class="muted" role="status">Catching up with the server…</p>`
        : nothing}
      ${this.#past.render({
        error: (error) =>
          html`<p class="error" role="alert">History: ${errorText(error)} <button type="button"
            @click=${() => void this.#past.run()}>Retry</button></p>`,
        complete: (value) => value.note ? html`<p class="muted">${value.note}</p>` : nothing,
      })}
      <div class="grid">
        <sm-affect-card .past=${past?.affect ?? NONE}></sm-affect-card>
        <sm-forecast-card></sm-forecast-card>
        <sm-assurance-card></sm-assurance-card>
        <sm-reflections-card></sm-reflections-card>
        <sm-narrative-card></sm-narrative-card>
        <sm-flow-card .past=${past?.difficulty ?? NONE}></sm-flow-card>
        <sm-spend-card></sm-spend-card>
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
