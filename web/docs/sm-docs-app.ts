/**
 * `<sm-docs-app>`: the API reference at `/docs` (spec/server.md §13),
 * served from this origin with no third-party UI. It loads
 * `/openapi.json` and shows the document's info and security schemes, a
 * filter, an optional bearer token for "Try it" (held in this element's
 * memory only, never stored) and the operations grouped by tag.
 *
 * @module
 */
import { Task } from "@lit/task";
import { css, html, LitElement, nothing } from "lit";
import { repeat } from "lit/directives/repeat.js";
import { ApiClient, OPENAPI_PATH } from "../api/client.ts";
import { shared } from "../theme/shared.ts";
import { docsBase } from "./styles.ts";
import { type ApiDocument, countOperations, filterGroups, readDocument } from "./openapi_model.ts";
import "./sm-docs-operation.ts";

/** The API reference. */
export class SmDocsApp extends LitElement {
  static override properties = {
    query: { state: true },
    token: { state: true },
  };
  declare query: string;
  /** The bearer token for "Try it": memory only. */
  declare token: string;
  readonly #api = new ApiClient({ token: () => null, onSession: () => {} });
  readonly #load = new Task(this, {
    task: async (_args: readonly [], { signal }) => readDocument(await this.#api.openApi(signal)),
    args: () => [] as const,
  });

  static override styles = [
    shared,
    docsBase,
    css`
      :host {
        display: block;
        max-width: 1100px;
        margin: 0 auto;
        padding: 16px 12px 48px;
      }
      header p {
        margin: 4px 0;
      }
      .version {
        font-size: 0.9rem;
        font-weight: 400;
        color: var(--sm-muted);
      }
      .controls {
        display: grid;
        grid-template-columns: repeat(auto-fit, minmax(min(100%, 300px), 1fr));
        gap: 4px var(--sm-gap);
        margin: 16px 0;
      }
      .controls input {
        width: 100%;
      }
      .controls p {
        margin: 4px 0 0;
        font-size: 0.9rem;
      }
      ul.schemes {
        margin: 4px 0;
        padding-left: 20px;
      }
      section {
        margin-top: 20px;
      }
      h2 {
        text-transform: capitalize;
      }
      ul.ops {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 6px;
      }
    `,
  ];

  constructor() {
    super();
    this.query = "";
    this.token = "";
  }

  #controls(doc: ApiDocument, shown: number) {
    const total = countOperations(doc.groups);
    return html`
      <div class="controls card">
        <div>
          <label for="filter">Filter operations</label>
          <input
            id="filter"
            type="search"
            autocomplete="off"
            spellcheck="false"
            aria-describedby="count"
            .value=${this.query}
            @input=${(e: Event) => (this.query = (e.target as HTMLInputElement).value)}
          >
          <p id="count" class="muted" role="status">
                ${shown === total ? `${total} operations` : `${shown} of ${total} operations`}
              </p>
        </div>
        <div>
          <label for="token">Bearer token for “Try it” (optional)</label>
          <input
            id="token"
            type="password"
            autocomplete="off"
            spellcheck="false"
            aria-describedby="token-hint"
            .value=${this.token}
            @input=${(e: Event) => (this.token = (e.target as HTMLInputElement).value)}
          >
          <p id="token-hint" class="muted">
                An access token or an API key (smk_…), sent as Authorization: Bearer. Kept in this
                page's memory only: a reload forgets it.
              </p>
        </div>
      </div>
    `;
  }

  #document(doc: ApiDocument) {
    const groups = filterGroups(doc.groups, this.query);
    return html`
      <header>
              <h1>${doc.title} <span class="version">${doc.version
                ? `v${doc.version}`
                : ""}</span></h1>
              ${doc.description ? html`<p>${doc.description}</p>` : nothing}
              <p class="muted">
                OpenAPI ${doc.openapi} · <a href=${OPENAPI_PATH}>${OPENAPI_PATH}</a> ·
                <a href="/">Dashboard</a>
              </p>
              ${doc.security.length > 0
                ? html`
                  <p>Credentials:</p>
                  <ul class="schemes">
                              ${doc.security.map((scheme) =>
                                html`<li><code>${scheme.name}</code>: ${scheme.text}</li>`
                              )}
                            </ul>
                `
                : nothing}
            </header>
      <main>
              ${this.#controls(doc, countOperations(groups))}
              ${groups.length === 0 ? html`<p>No operation matches the filter.</p>` : nothing}
              ${repeat(
                groups,
                (group) => group.tag,
                (group, i) =>
                  html`<section aria-labelledby="tag-${i}">
            <h2 id="tag-${i}">${group.tag}</h2>
            ${group.description ? html`<p class="muted">${group.description}</p>` : nothing}
            <ul class="ops">
              ${
                    repeat(
                      group.operations,
                      (op) => op.key,
                      (op) =>
                        html`
                          <li>
                            <sm-docs-operation
                              data-operation=${op.key}
                              .operation=${op}
                              .root=${doc.raw}
                              .token=${this.token}
                            ></sm-docs-operation>
                          </li>
                        `,
                    )
                  }
            </ul>
          </section>`,
              )}
            </main>
    `;
  }

  override render(): unknown {
    return this.#load.render({
      pending: () =>
        html`
          <main>
            <p role="status">Loading the API description…</p>
          </main>
        `,
      error: (error) =>
        html`
          <main>
            <h1>API reference</h1>
            <p class="error" role="alert">
                      Could not load ${OPENAPI_PATH}: ${error instanceof Error
                        ? error.message
                        : String(error)}
                    </p>
            <button @click=${() => this.#load.run()}>Retry</button>
          </main>
        `,
      complete: (doc) => this.#document(doc),
    });
  }
}
customElements.define("sm-docs-app", SmDocsApp);

declare global {
  interface HTMLElementTagNameMap {
    "sm-docs-app": SmDocsApp;
  }
}
