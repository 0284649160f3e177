/**
 * `<sm-docs-try>`: the "Try it" panel of one operation — a field per path,
 * query and header parameter, a JSON body, Send through `fetch` on this
 * origin (with the page's bearer token, when one is given), and the
 * answer's status, headers and body (pretty JSON). A stream can be stopped;
 * what arrived stays shown.
 *
 * @module
 */
import { css, html, LitElement, nothing } from "lit";
import { duration } from "../lib/format.ts";
import { shared } from "../theme/shared.ts";
import { docsBase } from "./styles.ts";
import { exampleOf, shortType } from "./schema_tree.ts";
import type { ApiOperation } from "./openapi_model.ts";
import { buildTryRequest, fieldKey, readAnswer, type TryResult } from "./try_request.ts";

/** The request form and the answer of one operation. */
export class SmDocsTry extends LitElement {
  static override properties = {
    operation: { attribute: false },
    root: { attribute: false },
    token: { type: String },
    values: { state: true },
    body: { state: true },
    sending: { state: true },
    result: { state: true },
    error: { state: true },
  };
  declare operation: ApiOperation;
  /** The whole document, for `$ref`. */
  declare root: Record<string, unknown>;
  declare token: string;
  declare values: Record<string, string>;
  declare body: string;
  declare sending: boolean;
  declare result: TryResult | null;
  declare error: { field: string; message: string } | null;
  #abort: AbortController | null = null;

  static override styles = [
    shared,
    docsBase,
    css`
      :host {
        display: block;
      }
      input,
      textarea {
        width: 100%;
      }
      textarea {
        font-family: var(--sm-mono);
        resize: vertical;
      }
      .hint {
        font-weight: 400;
        color: var(--sm-muted);
      }
      .actions {
        margin-top: 12px;
      }
      .answer {
        margin-top: 12px;
        border-top: 1px solid var(--sm-surface2);
        padding-top: 8px;
      }
      h4 {
        margin: 8px 0 4px;
        font-size: 1rem;
      }
      pre {
        max-height: 28em;
        overflow: auto;
        background: var(--sm-surface2);
        border-radius: var(--sm-radius);
        padding: 8px;
      }
      dl {
        display: grid;
        grid-template-columns: minmax(0, max-content) minmax(0, 1fr);
        gap: 2px 12px;
        margin: 0;
        font-family: var(--sm-mono);
        font-size: 0.9rem;
      }
      dt {
        font-weight: 600;
      }
      dt,
      dd {
        margin: 0;
        overflow-wrap: anywhere;
      }
      .status {
        font-size: 1.05rem;
      }
      .status strong.bad {
        color: var(--sm-danger);
      }
      .status strong.good {
        color: var(--sm-ok);
      }
    `,
  ];

  constructor() {
    super();
    this.root = {};
    this.token = "";
    this.values = {};
    this.body = "";
    this.sending = false;
    this.result = null;
    this.error = null;
  }

  override willUpdate(changed: Map<PropertyKey, unknown>): void {
    if (changed.has("operation") && this.operation?.body) {
      const example = exampleOf(this.operation.body.schema, this.root);
      this.body = JSON.stringify(example, null, 2);
    }
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#abort?.abort();
  }

  #set(key: string, value: string) {
    this.values = { ...this.values, [key]: value };
    if (this.error?.field === key) this.error = null;
  }

  async #send(event: Event) {
    event.preventDefault();
    const request = buildTryRequest(this.operation, {
      values: this.values,
      body: this.body,
      token: this.token,
    });
    if (!request.ok) {
      this.error = { field: request.field, message: request.message };
      await this.updateComplete;
      this.renderRoot.querySelector<HTMLElement>(`[data-field="${CSS.escape(request.field)}"]`)
        ?.focus();
      return;
    }
    this.error = null;
    this.#abort?.abort();
    const abort = new AbortController();
    this.#abort = abort;
    this.sending = true;
    const started = performance.now();
    try {
      const response = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        credentials: "same-origin",
        signal: abort.signal,
        ...(request.body !== null ? { body: request.body } : {}),
      });
      this.result = await readAnswer(response, {
        started,
        now: () => performance.now(),
        signal: abort.signal,
      });
    } catch (error) {
      this.result = null;
      this.error = {
        field: "",
        message: abort.signal.aborted
          ? "Stopped before an answer arrived"
          : `The request failed: ${error instanceof Error ? error.message : String(error)}`,
      };
    } finally {
      if (this.#abort === abort) {
        this.#abort = null;
        this.sending = false;
      }
    }
  }

  #stop() {
    this.#abort?.abort();
  }

  #field(param: ApiOperation["parameters"][number], index: number): unknown {
    const key = fieldKey(param);
    const id = `param-${index}`;
    const invalid = this.error?.field === key;
    return html`
      <div>
        <label for=${id}>${param.name}
              <span class="hint">(${param.in}${param.required ? ", required" : ""}; ${shortType(
                param.schema,
                this.root,
              )})</span></label>
        <input
          id=${id}
          data-field=${key}
          .value=${this.values[key] ?? ""}
          autocomplete="off"
          spellcheck="false"
          aria-invalid=${invalid ? "true" : "false"}
          aria-describedby=${invalid ? "try-error" : nothing}
          @input=${(e: Event) => this.#set(key, (e.target as HTMLInputElement).value)}
        >
      </div>
    `;
  }

  override render(): unknown {
    const op = this.operation;
    const params = op.parameters.filter((param) => param.in !== "cookie");
    const bodyInvalid = this.error?.field === "body";
    const result = this.result;
    return html`
      <form @submit=${this.#send} novalidate aria-label="Try ${op.method} ${op.path}">
            ${params.map((param, i) => this.#field(param, i))}
            ${op.body
              ? html`
                <label for="body">Request body <span class="hint">(${op.body
                  .mediaType}${op.body.required ? ", required" : ""})</span></label>
                <textarea
                  id="body"
                  data-field="body"
                  rows="8"
                  spellcheck="false"
                  .value=${this.body}
                  aria-invalid=${bodyInvalid ? "true" : "false"}
                  aria-describedby=${bodyInvalid ? "try-error" : nothing}
                  @input=${(e: Event) => {
                    this.body = (e.target as HTMLTextAreaElement).value;
                    if (this.error?.field === "body") this.error = null;
                  }}
                ></textarea>
              `
              : nothing}
            ${params.length === 0 && !op.body
              ? html`<p class="muted">No parameters and no body.</p>`
              : nothing}
            <div class="row actions">
              <button class="primary" type="submit" ?disabled=${this.sending}>Send</button>
              ${this.sending
                ? html`
                  <button type="button" @click=${this.#stop}>Stop</button>
                `
                : nothing}
            </div>
            <p id="try-error" class="error" role="alert">${this.error?.message ?? ""}</p>
          </form>
      <div class="answer">
            <p class="status" role="status" data-status=${result?.status ?? nothing}>${result
              ? html`Status <strong class=${result.status < 400 ? "good" : "bad"}>${result.status}
            ${result.statusText}</strong>
            <span class="muted">in ${duration(result.ms)}</span>`
              : this.sending
              ? "Sending…"
              : ""}</p>
            ${result
              ? html`
                <details>
                  <summary>Response headers (${result.headers.length})</summary>
                  <dl>
                              ${result.headers.map(([name, value]) =>
                                html`
                                  <dt>${name}</dt>
                                  <dd>${value}</dd>
                                `
                              )}
                            </dl>
                </details>
                          <h4>Response body${result.truncated ? " (cut short)" : ""}</h4>
                          ${result.body
                            ? html`<pre class="body" tabindex="0" aria-label="Response body">${result.body}</pre>`
                            : html`<p class="muted">Empty.</p>`}
              `
              : nothing}
          </div>
    `;
  }
}
customElements.define("sm-docs-try", SmDocsTry);

declare global {
  interface HTMLElementTagNameMap {
    "sm-docs-try": SmDocsTry;
  }
}
