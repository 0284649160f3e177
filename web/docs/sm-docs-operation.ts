/**
 * `<sm-docs-operation>`: one operation of the API reference, folded to its
 * method, path and summary; opened, it shows the minimum role and rate
 * tier (`x-min-role`, `x-rate-tier`), the parameters, the request body and
 * each response as schema trees, and a "Try it" panel. The details render
 * only once opened, so a long document stays light.
 *
 * @module
 */
import { css, html, LitElement, nothing } from "lit";
import { shared } from "../theme/shared.ts";
import { docsBase } from "./styles.ts";
import type { ApiOperation } from "./openapi_model.ts";
import { schemaTree, shortType } from "./schema_tree.ts";
import "./sm-docs-schema.ts";
import "./sm-docs-try.ts";

const METHOD_CLASS: Record<string, string> = {
  GET: "get",
  POST: "post",
  PUT: "put",
  PATCH: "put",
  DELETE: "delete",
};

/** One operation. */
export class SmDocsOperation extends LitElement {
  static override properties = {
    operation: { attribute: false },
    root: { attribute: false },
    token: { type: String },
    open: { state: true },
    trying: { state: true },
  };
  declare operation: ApiOperation;
  /** The whole document, for `$ref`. */
  declare root: Record<string, unknown>;
  declare token: string;
  declare open: boolean;
  declare trying: boolean;

  static override styles = [
    shared,
    docsBase,
    css`
      :host {
        display: block;
      }
      details.op {
        background: var(--sm-surface);
        border: 1px solid var(--sm-border);
        border-radius: var(--sm-radius);
      }
      details.op > summary {
        display: flex;
        flex-wrap: wrap;
        align-items: baseline;
        gap: 4px 10px;
        padding: 10px 12px;
        min-height: 44px;
        cursor: pointer;
      }
      .method {
        display: inline-block;
        min-width: 4.5em;
        text-align: center;
        font-family: var(--sm-mono);
        font-weight: 700;
        font-size: 0.85rem;
        border: 1px solid currentColor;
        border-radius: 4px;
        padding: 1px 4px;
      }
      .method.get {
        color: var(--sm-accent);
      }
      .method.post {
        color: var(--sm-ok);
      }
      .method.put {
        color: var(--sm-warn);
      }
      .method.delete {
        color: var(--sm-danger);
      }
      .path {
        font-weight: 600;
        overflow-wrap: anywhere;
      }
      .summary {
        flex: 1 1 16em;
        min-width: 0;
        overflow-wrap: anywhere;
        color: var(--sm-muted);
      }
      .body {
        padding: 0 12px 12px;
        border-top: 1px solid var(--sm-surface2);
      }
      .badges {
        display: flex;
        flex-wrap: wrap;
        gap: 6px;
        margin: 10px 0;
        padding: 0;
        list-style: none;
      }
      .badges li {
        border: 1px solid var(--sm-border);
        border-radius: 999px;
        padding: 2px 10px;
        font-size: 0.9rem;
      }
      h3 {
        font-size: 1rem;
        margin: 14px 0 6px;
      }
      ul.responses {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      ul.responses > li {
        margin: 4px 0;
      }
      .code {
        font-family: var(--sm-mono);
        font-weight: 700;
      }
      details.response > summary {
        cursor: pointer;
        padding: 4px 0;
      }
      details.response sm-docs-schema {
        margin: 4px 0 8px 16px;
      }
      .try {
        margin-top: 14px;
      }
      sm-docs-try {
        margin-top: 8px;
        padding: 0 12px 4px;
        border: 1px solid var(--sm-surface2);
        border-radius: var(--sm-radius);
      }
      td code {
        overflow-wrap: anywhere;
      }
    `,
  ];

  constructor() {
    super();
    this.root = {};
    this.token = "";
    this.open = false;
    this.trying = false;
  }

  #toggle(event: Event) {
    this.open = (event.target as HTMLDetailsElement).open;
  }

  #parameters(op: ApiOperation): unknown {
    if (op.parameters.length === 0) return nothing;
    return html`
      <h3>Parameters</h3>
      <table class="stack">
        <thead>
          <tr>
            <th>Name</th>
            <th>In</th>
            <th>Type</th>
            <th>Required</th>
            <th>Description</th>
          </tr>
        </thead>
        <tbody>
                ${op.parameters.map((param) =>
                  html`
                    <tr>
                      <td data-label="Name"><code>${param.name}</code></td>
                      <td data-label="In">${param.in}</td>
                      <td data-label="Type"><code>${shortType(param.schema, this.root)}</code></td>
                      <td data-label="Required">${param.required ? "yes" : "no"}</td>
                      <td data-label="Description">${param.description || "–"}</td>
                    </tr>
                  `
                )}
              </tbody>
      </table>
    `;
  }

  #body(op: ApiOperation): unknown {
    if (!op.body) return nothing;
    return html`
      <h3>Request body</h3>
      <p class="muted">${op.body.mediaType}${op.body.required ? ", required" : ", optional"}</p>
      <sm-docs-schema .node=${schemaTree(op.body.schema, this.root)}></sm-docs-schema>
    `;
  }

  #responses(op: ApiOperation): unknown {
    return html`
      <h3>Responses</h3>
      <ul class="responses">
              ${op.responses.map((response) => {
                const line =
                  html`<span class="code">${response.status}</span> ${response.description}${
                    response.mediaType
                      ? html`
                        <span class="muted">(${response.mediaType})</span>
                      `
                      : nothing
                  }`;
                return html`<li>${
                  response.schema
                    ? html`
                      <details class="response" ?open=${response.status.startsWith("2")}>
                        <summary>${line}</summary>
                        <sm-docs-schema .node=${schemaTree(
                          response.schema,
                          this.root,
                        )}></sm-docs-schema>
                      </details>
                    `
                    : line
                }</li>`;
              })}
            </ul>
    `;
  }

  #details(op: ApiOperation): unknown {
    const badges = [
      op.minRole ? `minimum role: ${op.minRole}` : null,
      op.rateTier ? `rate tier: ${op.rateTier}` : null,
      op.noCredential ? "no credential needed" : null,
      op.deprecated ? "deprecated" : null,
      ...op.tags.map((tag) => `tag: ${tag}`),
    ].filter((badge): badge is string => badge !== null);
    return html`<div class="body">
      <ul class="badges" aria-label="Properties">
        ${badges.map((badge) => html`<li>${badge}</li>`)}
      </ul>
      ${op.description ? html`<p>${op.description}</p>` : nothing}
      ${this.#parameters(op)} ${this.#body(op)} ${this.#responses(op)}
      <div class="try">
        <button
          type="button"
          aria-expanded=${this.trying ? "true" : "false"}
          aria-controls=${this.trying ? "try" : nothing}
          @click=${() => (this.trying = !this.trying)}
        >Try it</button>
        ${
      this.trying
        ? html`
          <sm-docs-try id="try" .operation=${op} .root=${this.root} .token=${this
            .token}></sm-docs-try>
        `
        : nothing
    }
      </div>
    </div>`;
  }

  override render(): unknown {
    const op = this.operation;
    return html`<details class="op" @toggle=${this.#toggle}>
      <summary>
        <span class="method ${METHOD_CLASS[op.method] ?? ""}">${op.method}</span>
        <code class="path">${op.path}</code>
        <span class="summary">${op.summary}</span>
      </summary>
      ${this.open ? this.#details(op) : nothing}
    </details>`;
  }
}
customElements.define("sm-docs-operation", SmDocsOperation);

declare global {
  interface HTMLElementTagNameMap {
    "sm-docs-operation": SmDocsOperation;
  }
}
