/**
 * `<page-projects>` (spec/dashboard.md §5.4): the caller's projects with
 * filter chips (Active, Paused, Exited, Archived). Each row shows the name,
 * short id, phase chip, progress (clamped, with its number), tasks done of
 * total, the current task, the last update and a marker when the project
 * is current in a thread. Rows follow `project.update` live. "New project"
 * opens `<sm-project-new>`; a created project opens its page.
 *
 * @module
 */
import { css, html, nothing } from "lit";
import { CardElement } from "../app/card.ts";
import { shortTime } from "../lib/format.ts";
import {
  type Filter,
  FILTERS,
  inFilter,
  percent,
  phaseLabel,
  type ProjectSummary,
} from "../lib/project_view.ts";
import { shared } from "../theme/shared.ts";
import type { ProjectCreatedDetail, SmProjectNew } from "../components/sm-project-new.ts";
import "../components/sm-project-new.ts";

/** The phase chip's styles, shared with the project page. */
export const phaseChip = css`
  .phase {
    display: inline-block;
    border: 1px solid var(--sm-border);
    border-radius: 999px;
    padding: 0 8px;
    font-size: 0.85rem;
    white-space: nowrap;
    background: var(--sm-surface);
  }
  .phase.iteration,
  .phase.planning,
  .phase.initialization {
    border-color: var(--sm-accent);
  }
  .phase.exit {
    border-style: dashed;
  }
  progress {
    width: 100%;
    max-width: 160px;
    height: 12px;
    accent-color: var(--sm-accent);
    vertical-align: middle;
  }
`;

/** The Projects page. */
export class PageProjects extends CardElement {
  static override properties = { filter: { state: true } };
  declare filter: Filter;
  #live = this.select((s) => s.projects.summaries);
  #stale = this.select((s) => s.projects.stale);
  #role = this.select((s) => s.auth.user?.role ?? null);

  /** Viewers follow projects but do not start them (the server says 403). */
  #canCreate(): boolean {
    const role = this.#role.value;
    return role === "operator" || role === "admin";
  }
  #list = this.load(
    () => [this.#stale.value] as const,
    (_args, signal) => this.services.api.projects(true, signal),
  );

  static override styles = [
    shared,
    phaseChip,
    css`
      :host {
        display: block;
      }
      .head {
        justify-content: space-between;
      }
      .chips {
        margin: 8px 0 12px;
        gap: 8px;
      }
      .chips button[aria-pressed="true"] {
        background: var(--sm-accent);
        color: var(--sm-accent-text);
        border-color: var(--sm-accent);
      }
      td a {
        font-weight: 600;
      }
      .current {
        font-weight: 600;
        color: var(--sm-ok);
      }
      .num {
        font-variant-numeric: tabular-nums;
      }
    `,
  ];

  constructor() {
    super();
    this.filter = "active";
  }

  /** The loaded list with live summaries laid over it, newest first. */
  #projects(loaded: ProjectSummary[]): ProjectSummary[] {
    const live = this.#live.value ?? {};
    const byId = new Map(loaded.map((project) => [project.id, project]));
    for (const [id, summary] of Object.entries(live)) {
      const update = summary as unknown as ProjectSummary;
      const known = byId.get(id);
      if (!known || update.updated_at >= known.updated_at) {
        // The live summary carries a short id without the list's uniqueness check: keep the list's.
        byId.set(id, { ...update, short_id: known?.short_id ?? update.short_id });
      }
    }
    return [...byId.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
  }

  #openNew(event: Event) {
    this.renderRoot.querySelector<SmProjectNew>("sm-project-new")?.open(
      event.currentTarget as HTMLElement,
    );
  }

  #created(event: CustomEvent<ProjectCreatedDetail>) {
    this.services.navigate(`/projects/${event.detail.id}`);
  }

  #table(projects: ProjectSummary[]) {
    const shown = projects.filter((project) => inFilter(project.phase, this.filter));
    const label = FILTERS.find((item) => item.id === this.filter)!.label.toLowerCase();
    return html`
      <div class="row chips" role="group" aria-label="Show projects">
        ${FILTERS.map((item) => {
          const count = projects.filter((project) => inFilter(project.phase, item.id)).length;
          return html`
            <button type="button" aria-pressed=${this.filter === item.id ? "true" : "false"}
              @click=${() => (this.filter = item.id)}>${item.label} (${count})</button>
          `;
        })}
      </div>
      ${shown.length === 0 ? html`<p class="muted">No ${label} projects.</p>` : html`
        <table class="stack">
          <thead>
            <tr>
              <th>Name</th>
              <th>ID</th>
              <th>Phase</th>
              <th>Progress</th>
              <th>Tasks</th>
              <th>Current task</th>
              <th>Updated</th>
              <th>Current</th>
            </tr>
          </thead>
          <tbody>${shown.map((project) => this.#row(project))}</tbody>
        </table>
      `}
    `;
  }

  #row(project: ProjectSummary) {
    const value = percent(project.progress);
    const current = project.focused_in.length > 0;
    return html`
      <tr data-project=${project.id}>
        <td data-label="Name"><a href="/projects/${project.id}">${project.name}</a></td>
        <td data-label="ID"><code>${project.short_id}</code></td>
        <td data-label="Phase"><span class="phase ${project.phase}">${phaseLabel(
          project.phase,
        )}${project.busy ? " · working" : ""}</span></td>
        <td data-label="Progress" class="num">
              <progress max="100" .value=${value} aria-label="Progress of ${project
                .name}"></progress>
              ${value} %
            </td>
        <td data-label="Tasks" class="num">${project.tasks_done}/${project.tasks_total}</td>
        <td data-label="Current task">${project.current_task?.name ?? "—"}</td>
        <td data-label="Updated">${shortTime(project.updated_at)}</td>
        <td data-label="Current">${current
          ? html`<span class="current" title="The current project of a chat thread">● current</span>`
          : html`<span class="muted">—</span>`}</td>
      </tr>
    `;
  }

  override render(): unknown {
    return html`
      <div class="row head">
        <h1 tabindex="-1">Projects</h1>
        ${this.#canCreate()
          ? html`<button type="button" class="primary" @click=${this.#openNew}>New project</button>`
          : nothing}
      </div>
      ${this.renderTask(this.#list, (loaded) => this.#table(this.#projects(loaded)))}
      <sm-project-new @project-created=${this.#created}></sm-project-new>
    `;
  }
}
customElements.define("page-projects", PageProjects);

declare global {
  interface HTMLElementTagNameMap {
    "page-projects": PageProjects;
  }
}
