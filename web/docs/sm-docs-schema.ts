/**
 * `<sm-docs-schema>`: a schema tree of the API reference as nested lists —
 * each property with its type, the component it comes from, whether it is
 * required, and its notes (description, enum values, bounds). Text
 * bindings only.
 *
 * @module
 */
import { css, html, LitElement, nothing, type TemplateResult } from "lit";
import { shared } from "../theme/shared.ts";
import { docsBase } from "./styles.ts";
import type { SchemaNode } from "./schema_tree.ts";

/** One schema, as a tree. */
export class SmDocsSchema extends LitElement {
  static override properties = { node: { attribute: false } };
  declare node: SchemaNode | null;

  static override styles = [
    shared,
    docsBase,
    css`
      :host {
        display: block;
        font-size: 0.95rem;
      }
      ul {
        list-style: none;
        margin: 0;
        padding-left: 14px;
        border-left: 1px solid var(--sm-surface2);
      }
      ul.top {
        padding-left: 0;
        border-left: none;
      }
      li {
        margin: 4px 0;
      }
      .line {
        overflow-wrap: anywhere;
      }
      .name {
        font-weight: 600;
      }
      .type {
        font-family: var(--sm-mono);
        color: var(--sm-muted);
      }
      .ref {
        font-family: var(--sm-mono);
      }
      .required {
        color: var(--sm-warn);
        font-size: 0.85rem;
        font-weight: 600;
      }
      .notes {
        color: var(--sm-muted);
      }
    `,
  ];

  constructor() {
    super();
    this.node = null;
  }

  #line(node: SchemaNode): TemplateResult {
    return html`<span class="line">
      ${node.label === null ? nothing : html`<code class="name">${node.label}</code>`}
      <span class="type">${node.type}</span>
      ${node.ref ? html`<span class="ref">(${node.ref})</span>` : nothing}
      ${node.required ? html`<span class="required">required</span>` : nothing}
      ${
      node.notes.length > 0 ? html`<span class="notes">— ${node.notes.join(" · ")}</span>` : nothing
    }
    </span>`;
  }

  #children(node: SchemaNode, top: boolean): unknown {
    if (node.children.length === 0) return nothing;
    return html`<ul class=${top ? "top" : ""}>
      ${
      node.children.map((child) =>
        html`<li>${this.#line(child)}${this.#children(child, false)}</li>`
      )
    }
    </ul>`;
  }

  override render(): unknown {
    const node = this.node;
    if (!node) return nothing;
    return html`<div>${this.#line(node)}</div>${this.#children(node, true)}`;
  }
}
customElements.define("sm-docs-schema", SmDocsSchema);

declare global {
  interface HTMLElementTagNameMap {
    "sm-docs-schema": SmDocsSchema;
  }
}
