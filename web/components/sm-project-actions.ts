/**
 * `<sm-project-actions>` (spec/dashboard.md §5.4): a project's action
 * panel, driven by `awaiting`.
 * - `answers`: the questions and an answer box; for templates also "Skip
 *   and start".
 * - `plan_decision`: the roadmap, Accept, Adjust… (with a text box) and
 *   Decline.
 * - `feedback`: Continue, Run N steps (1–20), a feedback box and Stop.
 * - Every active phase: Pause. Otherwise: Resume, Archive, and Delete
 *   (archived projects, admins), after a confirmation.
 *
 * Inputs go to `POST /api/projects/{id}/input` with an explicit intent;
 * the others to the pause/resume/archive routes. Buttons are disabled while
 * the project is busy or a request is pending; a queued step counts as
 * pending until the project's next `project.update`. `last_error` shows
 * with a Retry button.
 *
 * @module
 */
import { css, html, nothing } from "lit";
import { ApiError } from "../api/client.ts";
import { SmElement } from "../app/base.ts";
import {
  actionsFor,
  type Intent,
  type ProjectSummary,
  type ProjectTask,
} from "../lib/project_view.ts";
import { count } from "../lib/format.ts";
import { shared } from "../theme/shared.ts";

/** A queued step that never reports back stops blocking the panel after this long. */
const STEP_PATIENCE_MS = 180_000;

/** The action panel. */
export class SmProjectActions extends SmElement {
  static override properties = {
    project: { attribute: false },
    tasks: { attribute: false },
    pending: { state: true },
    waitingFor: { state: true },
    error: { state: true },
    adjusting: { state: true },
    steps: { state: true },
    confirmDelete: { state: true },
  };
  declare project: ProjectSummary | null;
  /** The roadmap, shown for a plan decision. */
  declare tasks: ProjectTask[];
  declare pending: boolean;
  /**
   * The live summary (by identity) from before a step was queued: the panel
   * waits until a `project.update` replaces it. Captured before the request,
   * since the step's update may arrive before the 202 does.
   */
  declare waitingFor: { summary: unknown } | null;
  declare error: string;
  declare adjusting: boolean;
  declare steps: number;
  declare confirmDelete: boolean;
  #auth = this.select((s) => s.auth.user);
  #live = this.select((s) => s.projects.summaries);
  #patience: ReturnType<typeof setTimeout> | null = null;
  #opener: HTMLElement | null = null;

  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      h2 {
        margin-top: 0;
      }
      h3 {
        font-size: 1rem;
        margin: 8px 0 4px;
      }
      textarea {
        width: 100%;
        resize: vertical;
      }
      .buttons {
        display: flex;
        flex-wrap: wrap;
        gap: 8px;
        margin: 8px 0;
        align-items: flex-end;
      }
      .steps input {
        width: 6em;
      }
      .steps label {
        margin-top: 0;
      }
      .problem {
        border-left: 4px solid var(--sm-danger);
        padding-left: 8px;
      }
      dialog {
        width: min(480px, 100vw);
        border: 1px solid var(--sm-border);
        border-radius: var(--sm-radius);
        background: var(--sm-surface);
        color: var(--sm-text);
      }
      dialog::backdrop {
        background: rgb(0 0 0 / 40%);
      }
    `,
  ];

  constructor() {
    super();
    this.project = null;
    this.tasks = [];
    this.pending = false;
    this.waitingFor = null;
    this.error = "";
    this.adjusting = false;
    this.steps = 3;
    this.confirmDelete = false;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.#patience !== null) clearTimeout(this.#patience);
  }

  override willUpdate(): void {
    // The project moved on since the step was queued: the panel is free again.
    if (this.waitingFor !== null && this.#summary() !== this.waitingFor.summary) {
      this.waitingFor = null;
    }
  }

  async #request(run: () => Promise<unknown>, step: boolean) {
    const from = { summary: this.#summary() };
    this.pending = true;
    this.error = "";
    try {
      await run();
      if (step) {
        this.waitingFor = from;
        if (this.#patience !== null) clearTimeout(this.#patience);
        this.#patience = setTimeout(() => (this.waitingFor = null), STEP_PATIENCE_MS);
      }
      return true;
    } catch (error) {
      this.error = error instanceof ApiError ? error.message : String(error);
      return false;
    } finally {
      this.pending = false;
    }
  }

  /** This project's latest summary from the socket, if any arrived. */
  #summary(): unknown {
    return this.project ? this.#live.value?.[this.project.id] : undefined;
  }

  #input(intent: Intent, options: { text?: string; steps?: number; clear?: string } = {}) {
    const id = this.project!.id;
    return this.#request(async () => {
      await this.services.api.projectInput(id, {
        intent,
        ...(options.text ? { text: options.text } : {}),
        ...(options.steps ? { steps: options.steps } : {}),
      });
      if (options.clear) {
        const box = this.renderRoot.querySelector<HTMLTextAreaElement>(`#${options.clear}`);
        if (box) box.value = "";
      }
      if (intent === "adjust") this.adjusting = false;
    }, true);
  }

  #text(id: string): string {
    return this.renderRoot.querySelector<HTMLTextAreaElement>(`#${id}`)?.value.trim() ?? "";
  }

  #send(intent: Intent, box: string, empty: string) {
    const text = this.#text(box);
    if (!text) {
      this.error = empty;
      return;
    }
    void this.#input(intent, { text, clear: box });
  }

  #route(action: "pause" | "resume" | "archive") {
    const id = this.project!.id;
    void this.#request(() => this.services.api.projectAction(id, action), false);
  }

  #askDelete(event: Event) {
    this.#opener = event.currentTarget as HTMLElement;
    this.confirmDelete = true;
    void this.updateComplete.then(() => this.renderRoot.querySelector("dialog")?.showModal());
  }

  async #delete() {
    const id = this.project!.id;
    const done = await this.#request(() => this.services.api.deleteProject(id), false);
    this.renderRoot.querySelector("dialog")?.close();
    if (done) this.services.navigate("/projects");
  }

  #deleteClosed() {
    this.confirmDelete = false;
    const opener = this.#opener;
    this.#opener = null;
    if (opener?.isConnected) opener.focus();
  }

  #answers(project: ProjectSummary, off: boolean, skip: boolean) {
    return html`
      ${project.questions.length
        ? html`
          <h3>Questions</h3>
          <ol>${project.questions.map((q) => html`<li>${q}</li>`)}</ol>
        `
        : html`<p class="muted">${
          project.busy ? "Preparing questions…" : "Tell me more about the project."
        }</p>`}
      <label for="answers">Your answers</label>
      <textarea id="answers" rows="4" maxlength="8000"></textarea>
      <div class="buttons">
        <button class="primary" ?disabled=${off} @click=${() =>
          this.#send("answers", "answers", "Write your answers first")}>Send answers</button>
        ${skip
          ? html`<button ?disabled=${off} @click=${() =>
            void this.#input("skip")}>Skip and start</button>`
          : nothing}
      </div>
    `;
  }

  #plan(off: boolean) {
    const names = new Map(this.tasks.map((task) => [task.id, task.name]));
    return html`
      <h3>Proposed roadmap</h3>
      <ol>${this.tasks.map((task) =>
        html`<li>${task.name} <span class="muted">(P${task.priority}${
          task.depends_on.length
            ? `, after ${task.depends_on.map((id) => names.get(id) ?? id).join(", ")}`
            : ""
        })</span></li>`
      )}</ol>
      <div class="buttons">
        <button class="primary" ?disabled=${off} @click=${() =>
          void this.#input("accept")}>Accept</button>
        <button aria-expanded=${this.adjusting ? "true" : "false"} aria-controls="adjust-box"
          ?disabled=${off} @click=${() => (this.adjusting = !this.adjusting)}>Adjust…</button>
        <button class="danger" ?disabled=${off} @click=${() =>
          void this.#input("decline")}>Decline</button>
      </div>
      <div id="adjust-box" ?hidden=${!this.adjusting}>
        <label for="adjust">What should change?</label>
        <textarea id="adjust" rows="3" maxlength="8000"></textarea>
        <div class="buttons">
          <button ?disabled=${off} @click=${() =>
            this.#send("adjust", "adjust", "Say what should change first")}>Send adjustment</button>
        </div>
      </div>
    `;
  }

  #feedback(off: boolean) {
    return html`
      <div class="buttons steps">
        <button class="primary" ?disabled=${off} @click=${() =>
          void this.#input("continue")}>Continue</button>
        <div>
          <label for="steps">Steps (1–20)</label>
          <input id="steps" type="number" min="1" max="20" .value=${String(this.steps)}
            @input=${(e: Event) => {
              const value = Math.round(Number((e.target as HTMLInputElement).value));
              if (Number.isFinite(value)) this.steps = Math.min(20, Math.max(1, value));
            }}>
        </div>
        <button ?disabled=${off} @click=${() =>
          void this.#input("continue", { steps: this.steps })}>Run ${count(
            this.steps,
            "step",
          )}</button>
        <button class="danger" ?disabled=${off} @click=${() =>
          void this.#input("stop")}>Stop</button>
      </div>
      <label for="feedback">Feedback</label>
      <textarea id="feedback" rows="3" maxlength="8000"></textarea>
      <div class="buttons">
        <button ?disabled=${off} @click=${() =>
          this.#send("feedback", "feedback", "Write your feedback first")}>Send feedback</button>
      </div>
    `;
  }

  override render(): unknown {
    const project = this.project;
    if (!project) return nothing;
    const role = this.#auth.value?.role ?? null;
    const canAct = role === "operator" || role === "admin";
    const actions = actionsFor(project, role);
    const waiting = this.waitingFor !== null && this.#summary() === this.waitingFor.summary;
    const off = !canAct || project.busy || this.pending || waiting;
    const status = project.busy || waiting
      ? "Working on a step…"
      : actions.awaiting === "answers"
      ? "Waiting for your answers."
      : actions.awaiting === "plan_decision"
      ? "Waiting for your decision on the plan."
      : actions.awaiting === "feedback"
      ? "Ready for the next step."
      : project.phase === "exit"
      ? project.tasks_total > 0 && project.tasks_done >= project.tasks_total
        ? "Finished: every task is done."
        : "Ended with tasks left: Resume continues them."
      : project.phase === "archived"
      ? "Archived: Resume brings it back as it was."
      : "Paused: nothing happens until you resume it.";
    return html`
      <h2>Next step</h2>
      <p role="status" data-busy=${off ? "true" : "false"}>${status}</p>
      ${canAct
        ? nothing
        : html`<p class="muted">Viewers can follow projects but not drive them.</p>`}
      ${project.last_error
        ? html`
          <div class="problem" role="alert">
            <p class="error">The last step failed: ${project.last_error.message}
                      (<code>${project.last_error.code}</code>)</p>
            <button ?disabled=${off} @click=${() => void this.#input("retry")}>Retry</button>
          </div>
        `
        : nothing}
      ${actions.awaiting === "answers" ? this.#answers(project, off, actions.skip) : nothing}
      ${actions.awaiting === "plan_decision" ? this.#plan(off) : nothing}
      ${actions.awaiting === "feedback" ? this.#feedback(off) : nothing}
      <div class="buttons">
        ${actions.pause
          ? html`<button ?disabled=${off} @click=${() => this.#route("pause")}>Pause</button>`
          : nothing}
        ${actions.resume
          ? html`<button class="primary" ?disabled=${off} @click=${() =>
            this.#route("resume")}>Resume</button>`
          : nothing}
        ${actions.archive
          ? html`<button ?disabled=${off} @click=${() => this.#route("archive")}>Archive</button>`
          : nothing}
        ${actions.delete
          ? html`<button class="danger" ?disabled=${off} @click=${this.#askDelete}>Delete…</button>`
          : nothing}
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${this.confirmDelete
        ? html`
          <dialog aria-labelledby="delete-title" @close=${this.#deleteClosed}>
            <h2 id="delete-title">Delete ${project.name}?</h2>
            <p>Its tasks, events and workspace are removed. This cannot be undone.</p>
            <div class="buttons">
              <button @click=${() =>
                this.renderRoot.querySelector("dialog")?.close()}>Cancel</button>
              <button class="danger" ?disabled=${this.pending} @click=${() =>
                void this.#delete()}>Delete</button>
            </div>
          </dialog>
        `
        : nothing}
    `;
  }
}
customElements.define("sm-project-actions", SmProjectActions);

declare global {
  interface HTMLElementTagNameMap {
    "sm-project-actions": SmProjectActions;
  }
}
