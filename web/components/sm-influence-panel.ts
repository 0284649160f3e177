/**
 * `<sm-influence-panel>` (spec/dashboard.md §5.2): "Why this reply" — the
 * turn's influence record (mind.md §14) in five sections: prompt
 * fragments, recalled memories, affect before → after with impulses, the
 * forecast against the actual message, and assurance with the generation
 * parameters. A section the record lacks reads "Not recorded for this turn".
 * A `<dialog>` (modal: focus stays inside, Esc closes, focus returns).
 *
 * @fires panel-closed
 * @module
 */
import { css, html, LitElement, nothing } from "lit";
import { signed } from "../lib/format.ts";
import { shared } from "../theme/shared.ts";
import type { Influence } from "../state/types.ts";

type Rec = Record<string, unknown>;
const NOT_RECORDED = html`<p class="muted">Not recorded for this turn</p>`;

/** How the temperature was made (the record's `generation.components`): " (0.70 base −0.02 …)". */
function temperatureParts(components: Rec | undefined): string {
  if (!components || typeof components.base !== "number") return "";
  const parts = [
    `${Number(components.base).toFixed(2)} base`,
    `${signed(Number(components.affect ?? 0))} affect`,
    `${signed(Number(components.calibration ?? 0))} calibration`,
  ];
  return ` (${parts.join(" ")}${components.clamped ? ", clamped" : ""})`;
}

/** The influence panel. */
export class SmInfluencePanel extends LitElement {
  static override properties = { record: { attribute: false } };
  declare record: Influence | null;
  static override styles = [
    shared,
    css`
      dialog {
        max-width: min(720px, 100vw);
        width: 100%;
        max-height: 90vh;
      }
      @media (max-width: 1023px) {
        dialog {
          max-width: 100vw;
          max-height: 100vh;
          height: 100%;
          margin: 0;
        }
      }
      section {
        margin-bottom: 12px;
      }
      .dropped {
        text-decoration: line-through;
      }
    `,
  ];

  constructor() {
    super();
    this.record = null;
  }

  /** Opens the panel (focus moves inside; Esc closes). */
  open(): void {
    void this.updateComplete.then(() => this.renderRoot.querySelector("dialog")?.showModal());
  }

  #close() {
    this.renderRoot.querySelector("dialog")?.close();
  }

  #closed() {
    this.dispatchEvent(new CustomEvent("panel-closed", { bubbles: true, composed: true }));
  }

  #fragments(record: Rec) {
    const sections = record.sections as Rec[] | undefined;
    if (!Array.isArray(sections) || sections.length === 0) return NOT_RECORDED;
    return html`
      <table class="stack">
        <thead>
          <tr>
            <th>Module</th>
            <th>Key</th>
            <th>Reason</th>
            <th>Tokens</th>
          </tr>
        </thead>
        <tbody>${sections.map((item) =>
          html`
            <tr class=${item.dropped ? "dropped" : ""}>
              <td data-label="Module">${item.module}</td>
              <td data-label="Key">${item.key}</td>
              <td data-label="Reason">${item.reason}</td>
              <td data-label="Tokens">${item.tokens}${item.dropped ? " (dropped)" : ""}</td>
            </tr>
          `
        )}</tbody>
      </table>
    `;
  }

  #memories(record: Rec) {
    const memories = record.memories as Rec[] | undefined;
    if (!Array.isArray(memories)) return NOT_RECORDED;
    if (memories.length === 0) return html`<p class="muted">No memories were recalled.</p>`;
    return html`<ul>${
      memories.map((item) => {
        const parts = (item.components ?? {}) as Record<string, number>;
        return html`<li><a href="/mind/memory?id=${String(item.memory_id)}">${item.kind}</a>
        score ${Number(item.score).toFixed(3)}
        <span class="muted">(${
          Object.entries(parts).map(([k, v]) => `${k} ${Number(v).toFixed(2)}`).join(", ")
        })</span></li>`;
      })
    }</ul>`;
  }

  #affect(record: Rec) {
    const before = record.state_before as Rec | undefined;
    const after = record.state_after as Rec | undefined;
    if (!before || !after) return NOT_RECORDED;
    const impulses = (record.impulses ?? []) as Rec[];
    const line = (name: string, key: "p" | "a" | "d") =>
      html`<li>${name}: ${signed(before[key] as number)} → ${signed(after[key] as number)}</li>`;
    return html`<ul>${line("Pleasure", "p")}${line("Arousal", "a")}${line("Dominance", "d")}
      <li>Mood: ${before.mood} → ${after.mood}</li></ul>
      ${
      impulses.length
        ? html`
          <p>Impulses:</p>
          <ul>${impulses.map((item) => {
            const applied = (item.applied ?? {}) as Record<string, number>;
            return html`<li>${item.label} <span class="muted">(${item.source})</span>:
            Δp ${signed(applied.dp)}, Δa ${signed(applied.da)}, Δd ${
              signed(applied.dd)
            } — ${item.reason}</li>`;
          })}</ul>
        `
        : html`<p class="muted">No impulses applied.</p>`
    }`;
  }

  #forecast(record: Rec) {
    const forecast = record.forecast as Rec | undefined;
    if (!forecast || forecast.status === "none" || forecast.status === undefined) {
      return NOT_RECORDED;
    }
    const items = (forecast.items ?? []) as Rec[];
    return html`<p>Status: ${forecast.status}${
      typeof forecast.alignment === "number"
        ? html`
          · alignment ${(forecast.alignment as number).toFixed(2)}
        `
        : nothing
    }${
      typeof forecast.surprise === "number"
        ? html`
          · surprise ${(forecast.surprise as number).toFixed(2)}
        `
        : nothing
    }</p>
      ${
      items.length
        ? html`<ul>${
          items.map((item) =>
            html`<li>${item.text} <span class="muted">p ${Number(item.p).toFixed(2)}, similarity ${
              Number(item.sim).toFixed(2)
            }</span></li>`
          )
        }</ul>`
        : nothing
    }`;
  }

  #assurance(record: Rec) {
    const assurance = record.assurance as Rec | undefined;
    const generation = record.generation as Rec | undefined;
    const policy = record.reply_policy as Rec | undefined;
    if (!assurance && !generation) return NOT_RECORDED;
    return html`<ul>
      ${
      policy
        ? html`<li>Reply policy: ${
          [
            policy.tone ? `tone: ${policy.tone}` : "no tone rule",
            ...(policy.caveat ? ["with a caveat"] : []),
            ...(policy.clarifying_question ? ["asked to clarify"] : []),
          ].join(", ")
        }</li>`
        : nothing
    }
      ${
      assurance
        ? html`<li>Uncertainty after the reply: ${
          assurance.u_post === null ? "–" : Number(assurance.u_post).toFixed(2)
        }</li>`
        : nothing
    }
      ${
      generation
        ? html`<li>Model ${generation.model}, temperature ${
          typeof generation.temperature === "number" ? generation.temperature.toFixed(2) : "n/a"
        }${
          temperatureParts(generation.components as Rec | undefined)
        }, max tokens ${generation.max_tokens}</li>`
        : nothing
    }
    </ul>`;
  }

  override render(): unknown {
    const record = (this.record ?? {}) as Rec;
    return html`
      <dialog aria-labelledby="title" @close=${this.#closed}>
        <div class="row"><h1 id="title">Why this reply</h1>
              <button aria-label="Close the panel" @click=${this.#close}>Close</button></div>
        <section><h2>Prompt fragments</h2>${this.#fragments(record)}</section>
        <section><h2>Recalled memories</h2>${this.#memories(record)}</section>
        <section><h2>Affect before → after</h2>${this.#affect(record)}</section>
        <section><h2>Forecast vs your message</h2>${this.#forecast(record)}</section>
        <section><h2>Assurance and generation</h2>${this.#assurance(record)}</section>
      </dialog>
    `;
  }
}
customElements.define("sm-influence-panel", SmInfluencePanel);

declare global {
  interface HTMLElementTagNameMap {
    "sm-influence-panel": SmInfluencePanel;
  }
}
