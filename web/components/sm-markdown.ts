/**
 * `<sm-markdown>`: the one place model text becomes markup (spec/dashboard.md
 * §2): `marked` with GFM, then DOMPurify with images, styles, SVG, MathML,
 * forms and frames forbidden and only http(s)/mailto links, appended as a
 * fragment to the shadow root. Links open in a new tab without referrer.
 *
 * @module
 */
import DOMPurify from "dompurify";
import { css, LitElement } from "lit";
import { marked } from "marked";
import { shared } from "../theme/shared.ts";

let hooked = false;
function hookLinks() {
  if (hooked) return;
  hooked = true;
  DOMPurify.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A") {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer nofollow");
    }
  });
}

/** Markdown to a sanitized fragment. */
export function renderMarkdown(text: string): DocumentFragment {
  hookLinks();
  const html = marked.parse(text, { async: false, gfm: true }) as string;
  return DOMPurify.sanitize(html, {
    RETURN_DOM_FRAGMENT: true,
    FORBID_TAGS: ["style", "img", "svg", "math", "form", "input", "iframe"],
    FORBID_ATTR: ["style"],
    ALLOWED_URI_REGEXP: /^(https?:|mailto:)/i,
  });
}

/** Renders finished markdown text. */
export class SmMarkdown extends LitElement {
  static override properties = { text: {} };
  declare text: string;
  static override styles = [
    shared,
    css`
      :host {
        display: block;
        line-height: 1.5;
        overflow-wrap: anywhere;
      }
      p {
        margin: 0 0 8px;
      }
      p:last-child {
        margin-bottom: 0;
      }
      pre {
        background: var(--sm-surface2);
        padding: 8px;
        border-radius: var(--sm-radius);
        overflow-x: auto;
      }
      code {
        background: var(--sm-surface2);
        padding: 0 3px;
        border-radius: 4px;
      }
    `,
  ];
  #container: HTMLDivElement | null = null;

  constructor() {
    super();
    this.text = "";
  }

  override render(): unknown {
    return null;
  }

  override updated(): void {
    const root = this.shadowRoot!;
    if (!this.#container) {
      this.#container = document.createElement("div");
      root.appendChild(this.#container);
    }
    this.#container.replaceChildren(renderMarkdown(this.text));
  }
}
customElements.define("sm-markdown", SmMarkdown);

declare global {
  interface HTMLElementTagNameMap {
    "sm-markdown": SmMarkdown;
  }
}
