/**
 * `<sm-narrative-card>` (spec/dashboard.md §5.3, mind.md §9): the current
 * self-narrative (markdown through `<sm-markdown>`), every version (number,
 * date, reason, source) and a word-level diff of any two versions
 * (`diffWords`), shown as `<ins>`/`<del>` with underline and strike-through
 * so colour is never the only cue. Reloads when the version changes. The
 * versions table fits the card: words wrap between words, and only a
 * source's long reflection id may break anywhere.
 *
 * @module
 */
import { css, html } from "lit";
import { CardElement, cardStyles } from "../app/card.ts";
import { diffWords } from "../lib/diff_words.ts";
import { shortTime } from "../lib/format.ts";
import type { NarrativeVersion } from "../state/types.ts";
import { shared } from "../theme/shared.ts";
import "./sm-markdown.ts";

const REASONS: Record<NarrativeVersion["reason"], string> = {
  initial: "initial (identity)",
  reflection: "after a reflection",
  manual: "manual rewrite",
  rollback: "restored",
};

const SOURCES: Record<NarrativeVersion["reason"], string> = {
  initial: "the profile's identity",
  reflection: "a reflection",
  manual: "/purpose rewrite",
  rollback: "a restored version",
};

/** The narrative card. */
export class SmNarrativeCard extends CardElement {
  static override properties = { from: { state: true }, to: { state: true } };
  /** The versions compared (0: the default, the previous and the current one). */
  declare from: number;
  declare to: number;
  #version = this.select((s) =>
    (s.mind.state?.mind as { psyche_purpose?: { narrative?: { version?: number } } } | undefined)
      ?.psyche_purpose?.narrative?.version ?? 0
  );
  #task = this.load(
    () => [this.#version.value] as const,
    (_args, signal) => this.services.api.narrativeVersions(signal),
  );

  static override styles = [
    shared,
    cardStyles,
    css`
      .versions {
        max-height: 220px;
        overflow: auto;
        margin-bottom: 8px;
      }
      .id {
        overflow-wrap: anywhere;
      }
      .diff {
        line-height: 1.6;
        overflow-wrap: anywhere;
        background: var(--sm-surface2);
        padding: 8px;
        border-radius: var(--sm-radius);
      }
      ins {
        text-decoration: underline;
        text-decoration-thickness: 2px;
        color: var(--sm-ok);
      }
      del {
        text-decoration: line-through;
        color: var(--sm-danger);
      }
      .pickers {
        align-items: end;
      }
      .pickers label {
        margin: 0;
      }
      select {
        display: block;
      }
    `,
  ];

  constructor() {
    super();
    this.from = 0;
    this.to = 0;
  }

  #picker(label: string, value: number, versions: NarrativeVersion[], set: (n: number) => void) {
    return html`<label>${label}
      <select @change=${(event: Event) => set(Number((event.target as HTMLSelectElement).value))}>
        ${
      versions.map((version) =>
        html`<option value=${version.version} ?selected=${
          version.version === value
        }>v${version.version}</option>`
      )
    }
      </select></label>`;
  }

  #diff(versions: NarrativeVersion[]) {
    if (versions.length < 2) {
      return html`<p class="muted">There is one version so far; a diff needs two.</p>`;
    }
    const latest = versions.at(-1)!.version;
    const to = versions.some((v) => v.version === this.to) ? this.to : latest;
    const from = versions.some((v) => v.version === this.from)
      ? this.from
      : versions.at(-2)!.version;
    const a = versions.find((v) => v.version === from)!;
    const b = versions.find((v) => v.version === to)!;
    const parts = diffWords(a.text, b.text);
    const added = parts.filter((part) => part.op === "+").length;
    const removed = parts.filter((part) => part.op === "-").length;
    return html`
      <div class="row pickers">
        ${this.#picker("From", from, versions, (n) => (this.from = n))}
        ${this.#picker("To", to, versions, (n) => (this.to = n))}
      </div>
      <p class="muted">
        Underlined words were added, struck-through words removed (${added} additions, ${removed}
        removals).
      </p>
      <p class="diff" aria-label="Changes from v${from} to v${to}" role="group">
        ${parts.map((part, i) => {
          const space = i === 0 ? "" : " ";
          return part.op === "="
            ? `${space}${part.text}`
            : part.op === "+"
            ? html`${space}<ins>${part.text}</ins>`
            : html`${space}<del>${part.text}</del>`;
        })}
      </p>
    `;
  }

  #complete = (versions: NarrativeVersion[]) => {
    const current = versions.at(-1);
    if (!current) return html`<p class="muted">No narrative yet.</p>`;
    return html`
      <p class="muted">Version ${current.version}, ${current.words} words, ${shortTime(
        current.created_at,
      )}</p>
      <sm-markdown .text=${current.text}></sm-markdown>
      <h3>Versions</h3>
      <div class="versions" tabindex="0" role="region" aria-label="Narrative versions">
        <table class="stack">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Date</th>
              <th scope="col">Reason</th>
              <th scope="col">Source</th>
            </tr>
          </thead>
          <tbody>
            ${[...versions].reverse().map((version) =>
              html`
                <tr data-version=${version.version}>
                  <td data-label="Version">v${version.version}</td>
                  <td data-label="Date">${shortTime(version.created_at)}</td>
                  <td data-label="Reason">${REASONS[version.reason] ?? version.reason}</td>
                  <td data-label="Source">${version.source_reflection_id
                    ? html`reflection <span class="id">${version.source_reflection_id}</span>`
                    : version.restored_from
                    ? `restored from v${version.restored_from}`
                    : SOURCES[version.reason]}</td>
                </tr>
              `
            )}
          </tbody>
        </table>
      </div>
      <h3>Compare versions</h3>
      ${this.#diff(versions)}
    `;
  };

  override render(): unknown {
    return html`
      <section class="card" aria-labelledby="narrative-h">
        <h2 id="narrative-h">Narrative</h2>
        ${this.renderTask(this.#task, this.#complete)}
      </section>
    `;
  }
}
customElements.define("sm-narrative-card", SmNarrativeCard);

declare global {
  interface HTMLElementTagNameMap {
    "sm-narrative-card": SmNarrativeCard;
  }
}
