/**
 * `<sm-project-new>` (spec/dashboard.md §5.4): the "New project" dialog. Two
 * tabs: *Text* (a description of 1–4,000 characters and "Use version
 * control") and *Template* (cards from `GET /api/templates` with name,
 * category, task count and description, plus an optional customization).
 * Submitting calls `POST /api/projects`. The `<dialog>` is modal: focus
 * stays inside it (Tab wraps), Esc closes it, and focus returns to the
 * element that opened it.
 *
 * @fires project-created - `{ id }` once the server has created the project.
 * @module
 */
import { css, html, nothing } from "lit";
import { ApiError } from "../api/client.ts";
import { SmElement } from "../app/base.ts";
import type { TemplateInfo } from "../lib/project_view.ts";
import { shared } from "../theme/shared.ts";

const MAX = 4_000;

/** The `project-created` event's detail. */
export interface ProjectCreatedDetail {
  id: string;
}

/**
 * A ticked "Use version control" box asks for it; an unticked one leaves the choice to the
 * server's `gdil.vcs.enabled` (the dialog does not know it), so `vcs` is sent only when ticked.
 */
function vcsChoice(box: FormDataEntryValue | null): { vcs?: true } {
  return box === "on" ? { vcs: true } : {};
}

/** The dialog. */
export class SmProjectNew extends SmElement {
  static override properties = {
    tab: { state: true },
    templates: { state: true },
    loadError: { state: true },
    templateId: { state: true },
    length: { state: true },
    pending: { state: true },
    error: { state: true },
    field: { state: true },
  };
  declare tab: "text" | "template";
  declare templates: TemplateInfo[] | null;
  declare loadError: string;
  declare templateId: string;
  /** The description's length, for the counter. */
  declare length: number;
  declare pending: boolean;
  declare error: string;
  /** The field the error is about: `description`, `template_id`, `customization` or "". */
  declare field: string;
  #opener: HTMLElement | null = null;

  static override styles = [
    shared,
    css`
      dialog {
        width: min(720px, 100vw);
        max-height: 90vh;
      }
      h2 {
        margin-top: 0;
      }
      [role="tablist"] {
        display: flex;
        gap: 4px;
        border-bottom: 1px solid var(--sm-border);
        margin-bottom: 12px;
      }
      [role="tab"] {
        border-bottom-left-radius: 0;
        border-bottom-right-radius: 0;
        background: var(--sm-surface);
      }
      [role="tab"][aria-selected="true"] {
        background: var(--sm-surface2);
        font-weight: 600;
        border-bottom: 3px solid var(--sm-accent);
      }
      textarea {
        width: 100%;
        resize: vertical;
      }
      label.check {
        display: flex;
        gap: 8px;
        align-items: center;
        font-weight: normal;
        min-height: 44px;
      }
      label.check input {
        min-height: 0;
        width: 20px;
        height: 20px;
      }
      fieldset {
        border: none;
        padding: 0;
        margin: 0;
      }
      legend {
        font-weight: 600;
        margin-bottom: 4px;
      }
      .cards {
        display: grid;
        grid-template-columns: repeat(auto-fill, minmax(200px, 1fr));
        gap: 8px;
      }
      label.choice {
        display: grid;
        grid-template-columns: auto 1fr;
        align-content: start;
        gap: 2px 8px;
        margin: 0;
        font-weight: normal;
        border: 1px solid var(--sm-border);
        border-radius: var(--sm-radius);
        padding: 8px;
        cursor: pointer;
      }
      label.choice:has(input:checked) {
        border: 2px solid var(--sm-accent);
        background: var(--sm-surface2);
      }
      label.choice input {
        min-height: 0;
        width: 20px;
        height: 20px;
        grid-row: span 3;
      }
      .meta {
        font-size: 0.85rem;
      }
      .choice p {
        grid-column: 2;
        margin: 0;
        font-size: 0.9rem;
      }
      .buttons {
        display: flex;
        flex-wrap: wrap;
        gap: 8px;
        justify-content: flex-end;
        margin-top: 12px;
      }
      @media (max-width: 599px) {
        dialog {
          width: 100vw;
          max-width: 100vw;
          height: 100%;
          max-height: 100vh;
          margin: 0;
        }
      }
    `,
  ];

  constructor() {
    super();
    this.tab = "text";
    this.templates = null;
    this.loadError = "";
    this.templateId = "";
    this.length = 0;
    this.pending = false;
    this.error = "";
    this.field = "";
  }

  /** Opens the dialog; focus goes back to `opener` when it closes. */
  open(opener: HTMLElement | null): void {
    this.#opener = opener;
    this.error = "";
    this.field = "";
    if (!this.templates) void this.#loadTemplates();
    void this.updateComplete.then(() => {
      const dialog = this.#dialog();
      if (dialog && !dialog.open) dialog.showModal();
    });
  }

  #dialog(): HTMLDialogElement | null {
    return this.renderRoot.querySelector("dialog");
  }

  async #loadTemplates() {
    this.loadError = "";
    try {
      this.templates = await this.services.api.templates();
    } catch (error) {
      this.loadError = error instanceof ApiError ? error.message : String(error);
    }
  }

  #closed() {
    const opener = this.#opener;
    this.#opener = null;
    if (opener?.isConnected) opener.focus();
  }

  /** Keeps Tab inside the dialog: from the last control to the first and back. */
  #trap = (event: KeyboardEvent) => {
    if (event.key !== "Tab") return;
    const dialog = this.#dialog();
    if (!dialog) return;
    const first = dialog.querySelector<HTMLElement>('[role="tab"][aria-selected="true"]');
    const buttons = [...dialog.querySelectorAll<HTMLButtonElement>(".buttons button")]
      .filter((button) => !button.disabled);
    const last = buttons.at(-1);
    const active = this.renderRoot instanceof ShadowRoot ? this.renderRoot.activeElement : null;
    if (!first || !last) return;
    if (!event.shiftKey && active === last) {
      event.preventDefault();
      first.focus();
    } else if (event.shiftKey && active === first) {
      event.preventDefault();
      last.focus();
    }
  };

  #tabKeys(event: KeyboardEvent) {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    event.preventDefault();
    this.tab = this.tab === "text" ? "template" : "text";
    void this.updateComplete.then(() =>
      this.renderRoot.querySelector<HTMLElement>(`#tab-${this.tab}`)?.focus()
    );
  }

  async #submit(event: SubmitEvent) {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    this.error = "";
    this.field = "";
    let body: { description?: string; template_id?: string; customization?: string; vcs?: boolean };
    if (this.tab === "text") {
      const description = String(data.get("description") ?? "").trim();
      if (!description || description.length > MAX) {
        this.field = "description";
        this.error = "Describe the project in 1 to 4,000 characters";
        return;
      }
      body = { description, ...vcsChoice(data.get("vcs")) };
    } else {
      if (!this.templateId) {
        this.field = "template_id";
        this.error = "Choose a template";
        return;
      }
      const customization = String(data.get("customization") ?? "").trim();
      body = {
        template_id: this.templateId,
        ...(customization ? { customization } : {}),
        ...vcsChoice(data.get("template_vcs")),
      };
    }
    this.pending = true;
    try {
      const created = await this.services.api.createProject(body);
      form.reset();
      this.length = 0;
      this.templateId = "";
      this.#dialog()?.close();
      this.dispatchEvent(
        new CustomEvent<ProjectCreatedDetail>("project-created", {
          detail: { id: created.project.id },
          bubbles: true,
          composed: true,
        }),
      );
    } catch (error) {
      this.error = error instanceof ApiError ? error.message : String(error);
      this.field = error instanceof ApiError && error.field ? error.field : "";
    } finally {
      this.pending = false;
    }
  }

  #fieldError(name: string) {
    return this.field === name
      ? html`<p id="${name}-error" class="error" role="alert">${this.error}</p>`
      : nothing;
  }

  #textPanel() {
    const invalid = this.field === "description";
    return html`
      <div role="tabpanel" id="panel-text" aria-labelledby="tab-text" ?hidden=${this.tab !==
        "text"}>
        <label for="description">Description</label>
        <textarea id="description" name="description" rows="6" maxlength=${MAX}
          aria-invalid=${invalid ? "true" : "false"}
          aria-describedby="description-count${invalid ? " description-error" : ""}"
          @input=${(e: Event) => (this.length = (e.target as HTMLTextAreaElement).value.length)}
        ></textarea>
        <p id="description-count" class="muted">${this.length.toLocaleString(
          "en",
        )} / 4,000 characters</p>
        ${this.#fieldError("description")}
        <label class="check"><input type="checkbox" name="vcs"> Use version control</label>
      </div>
    `;
  }

  #templatePanel() {
    const invalid = this.field === "template_id";
    return html`
      <div role="tabpanel" id="panel-template" aria-labelledby="tab-template"
        ?hidden=${this.tab !== "template"}>
        <fieldset aria-describedby=${invalid ? "template_id-error" : nothing}>
          <legend>Template</legend>
          ${this.loadError
            ? html`
              <p class="error" role="alert">Could not load the templates: ${this.loadError}</p>
              <button type="button" @click=${() => void this.#loadTemplates()}>Retry</button>
            `
            : !this.templates
            ? html`<p role="status">Loading templates…</p>`
            : html`<div class="cards">${
              this.templates.map((template) =>
                html`
                  <label class="choice" data-template=${template.id}>
                    <input type="radio" name="template" value=${template.id}
                      .checked=${this.templateId === template.id}
                      @change=${() => (this.templateId = template.id)}>
                    <strong>${template.name}</strong>
                    <span class="meta muted">${template.category} · ${template
                      .task_count} tasks</span>
                    <p>${template.description}</p>
                  </label>
                `
              )
            }</div>`}
        </fieldset>
        ${this.#fieldError("template_id")}
        <label for="customization">Customization (optional)</label>
        <textarea id="customization" name="customization" rows="3" maxlength=${MAX}></textarea>
        ${this.#fieldError("customization")}
        <label class="check"><input type="checkbox" name="template_vcs"> Use version control</label>
      </div>
    `;
  }

  override render(): unknown {
    const general = this.error && !["description", "template_id", "customization"].includes(
      this.field,
    );
    const tab = (id: "text" | "template", label: string) =>
      html`
        <button type="button" role="tab" id="tab-${id}" aria-controls="panel-${id}"
          aria-selected=${this.tab === id ? "true" : "false"} tabindex=${this.tab === id ? 0 : -1}
          @click=${() => (this.tab = id)} @keydown=${this.#tabKeys}>${label}</button>
      `;
    return html`
      <dialog aria-labelledby="new-title" @close=${this.#closed} @keydown=${this.#trap}>
        <form @submit=${this.#submit} novalidate>
          <h2 id="new-title">New project</h2>
          <div role="tablist" aria-label="Start from">
            ${tab("text", "Text")} ${tab("template", "Template")}
          </div>
          ${this.#textPanel()} ${this.#templatePanel()}
          ${general ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
          <div class="buttons">
            <button type="button" @click=${() => this.#dialog()?.close()}>Cancel</button>
            <button type="submit" class="primary" ?disabled=${this.pending}>Start project</button>
          </div>
        </form>
      </dialog>
    `;
  }
}
customElements.define("sm-project-new", SmProjectNew);

declare global {
  interface HTMLElementTagNameMap {
    "sm-project-new": SmProjectNew;
  }
}
