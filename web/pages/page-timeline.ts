/**
 * `<page-timeline>` (spec/dashboard.md §5.4): every project's Gantt chart,
 * one section per project (newest first), from `GET /api/timeline`, with an
 * "Include archived" toggle. Events of type `plan.*`, `task.*` or `exit`
 * on any project refetch it, debounced by 300 ms.
 *
 * @module
 */
import { css, html } from "lit";
import { CardElement } from "../app/card.ts";
import type { TaskSelectDetail } from "../components/sm-gantt.ts";
import { changesSchedule, percent, type Phase, phaseLabel } from "../lib/project_view.ts";
import { shared } from "../theme/shared.ts";
import { phaseChip } from "./page-projects.ts";
import "../components/sm-gantt.ts";

const REFETCH_DEBOUNCE_MS = 300;

/** The all-project timeline. */
export class PageTimeline extends CardElement {
  static override properties = {
    includeArchived: { state: true },
    refresh: { state: true },
  };
  declare includeArchived: boolean;
  /** Bumped to refetch. */
  declare refresh: number;
  #events = this.select((s) => s.projects.events);
  #stale = this.select((s) => s.projects.stale);
  /** The highest seq seen per project. */
  #seen = new Map<string, number>();
  #primed = false;
  #debounce: ReturnType<typeof setTimeout> | null = null;
  #timeline = this.load(
    () => [this.includeArchived, this.refresh, this.#stale.value] as const,
    ([archived], signal) => this.services.api.timeline(archived, signal),
  );

  static override styles = [
    shared,
    phaseChip,
    css`
      :host {
        display: block;
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
      section.card {
        margin: 12px 0;
        min-width: 0;
      }
      section h2 {
        margin-top: 0;
      }
      .facts {
        gap: 8px 16px;
        margin-bottom: 8px;
      }
    `,
  ];

  constructor() {
    super();
    this.includeArchived = false;
    this.refresh = 0;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.#debounce !== null) clearTimeout(this.#debounce);
    this.#debounce = null;
  }

  override willUpdate(): void {
    let schedule = false;
    for (const [id, events] of Object.entries(this.#events.value ?? {})) {
      const seen = this.#seen.get(id) ?? 0;
      const fresh = events.filter((event) => event.seq > seen);
      if (fresh.length === 0) continue;
      this.#seen.set(id, Math.max(...fresh.map((event) => event.seq)));
      if (fresh.some((event) => changesSchedule(String(event.type)))) schedule = true;
    }
    // Events held before the page opened are already in its first load.
    if (!this.#primed) {
      this.#primed = true;
      return;
    }
    if (!schedule) return;
    if (this.#debounce !== null) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = null;
      this.refresh++;
    }, REFETCH_DEBOUNCE_MS);
  }

  #open(projectId: string, _event: CustomEvent<TaskSelectDetail>) {
    this.services.navigate(`/projects/${projectId}`);
  }

  override render(): unknown {
    return html`
      <h1 tabindex="-1">Timeline</h1>
      <label class="check"><input type="checkbox" .checked=${this.includeArchived}
        @change=${(e: Event) => (this.includeArchived = (e.target as HTMLInputElement).checked)}>
        Include archived</label>
      ${this.renderTask(
        this.#timeline,
        (timeline) =>
          timeline.projects.length === 0
            ? html`<p class="muted">No projects yet. Start one on the <a href="/projects">Projects</a> page.</p>`
            : timeline.projects.map((project) =>
              html`
                <section class="card" data-project=${project.id}
                  aria-labelledby="title-${project.id}">
                  <h2 id="title-${project.id}"><a href="/projects/${project.id}">${project
                    .name}</a></h2>
                  <div class="row facts">
                    <span class="phase ${project.phase}">${phaseLabel(
                      project.phase as Phase,
                    )}</span>
                    <span>${percent(project.progress ?? 0)} %</span>
                  </div>
                  <sm-gantt .project=${project} @task-select=${(e: CustomEvent<TaskSelectDetail>) =>
                    this.#open(project.id, e)}></sm-gantt>
                </section>
              `
            ),
      )}
    `;
  }
}
customElements.define("page-timeline", PageTimeline);

declare global {
  interface HTMLElementTagNameMap {
    "page-timeline": PageTimeline;
  }
}
