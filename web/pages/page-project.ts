/**
 * `<page-project project-id=…>` (spec/dashboard.md §5.4): one project.
 * - Header: name, phase, progress, request (a template's with its customization), brief, end
 *   transformation, and the exit reason with its summary.
 * - `<sm-project-actions>`: the action panel driven by `awaiting`.
 * - Tabs: Tasks (`<sm-project-tasks>`), Events (`<sm-project-events>`:
 *   the detail's latest 50, older pages on request and live
 *   `project.update`s, one per seq, newest first), Files
 *   (`<sm-project-files>`: the workspace with downloads, and the VCS log
 *   with Rollback when the project has version control; loaded when the
 *   tab is first shown) and Gantt (`<sm-gantt>` from the timeline route).
 *
 * The live summary from the socket is laid over the loaded detail. Events
 * of type `plan.*`, `task.*` or `exit` refetch the detail and the timeline;
 * events that may change the workspace (`task.progress`,
 * `task.completed`, `exit`, `vcs.*`) refetch the Files tab's lists; both
 * debounced by 300 ms.
 *
 * @module
 */
import { css, html, nothing } from "lit";
import { ApiError } from "../api/client.ts";
import { CardElement } from "../app/card.ts";
import { changesFiles } from "../components/sm-project-files.ts";
import type { SmProjectTasks } from "../components/sm-project-tasks.ts";
import type { TaskSelectDetail } from "../components/sm-gantt.ts";
import {
  changesSchedule,
  exitLabel,
  mergeEvents,
  percent,
  phaseLabel,
  type ProjectDetail,
  type ProjectEvent,
  type ProjectSummary,
} from "../lib/project_view.ts";
import { count } from "../lib/format.ts";
import { shared } from "../theme/shared.ts";
import { phaseChip } from "./page-projects.ts";
import "../components/sm-gantt.ts";
import "../components/sm-project-actions.ts";
import "../components/sm-project-events.ts";
import "../components/sm-project-tasks.ts";

const TABS = [
  { id: "tasks", label: "Tasks" },
  { id: "events", label: "Events" },
  { id: "files", label: "Files" },
  { id: "gantt", label: "Gantt" },
] as const;
type Tab = (typeof TABS)[number]["id"];
const REFETCH_DEBOUNCE_MS = 300;
const PAGE = 50;

/** The project page. */
export class PageProject extends CardElement {
  static override properties = {
    projectId: { attribute: "project-id" },
    tab: { state: true },
    refresh: { state: true },
    filesRefresh: { state: true },
    older: { state: true },
    olderLoading: { state: true },
    olderError: { state: true },
  };
  /** The project's id, or a unique prefix of it. */
  declare projectId: string | null;
  declare tab: Tab;
  /** Bumped to refetch the detail and the timeline. */
  declare refresh: number;
  /** Bumped to refetch the Files tab's listing and history. */
  declare filesRefresh: number;
  /** Events loaded with "Load older". */
  declare older: ProjectEvent[];
  declare olderLoading: boolean;
  declare olderError: string;
  #summaries = this.select((s) => s.projects.summaries);
  #liveEvents = this.select((s) => s.projects.events);
  #stale = this.select((s) => s.projects.stale);
  /** The highest seq already reflected in the loaded detail. */
  #seen = 0;
  #debounce: ReturnType<typeof setTimeout> | null = null;
  /** What the pending debounced refetch reloads. */
  #due = new Set<"detail" | "files">();
  #detail = this.load(
    () => [this.projectId, this.refresh, this.#stale.value] as const,
    async ([id], signal): Promise<ProjectDetail> => {
      const detail = await this.services.api.project(id ?? "", signal);
      this.#seen = Math.max(this.#seen, ...detail.events.map((event) => event.seq));
      document.title = `${detail.name} · Synth Mind`;
      return detail;
    },
  );
  #timeline = this.load(
    () => [this.projectId, this.refresh, this.#stale.value] as const,
    ([id], signal) => this.services.api.projectTimeline(id ?? "", signal),
  );

  static override styles = [
    shared,
    phaseChip,
    css`
      :host {
        display: block;
      }
      .crumbs {
        margin: 0 0 4px;
      }
      .facts {
        gap: 8px 16px;
        margin-bottom: 8px;
      }
      dl {
        display: grid;
        grid-template-columns: max-content minmax(0, 1fr);
        gap: 4px 12px;
        margin: 8px 0;
      }
      dt {
        font-weight: 600;
      }
      dd {
        margin: 0;
        overflow-wrap: anywhere;
      }
      section.card {
        margin: 12px 0;
      }
      [role="tablist"] {
        display: flex;
        gap: 4px;
        border-bottom: 1px solid var(--sm-border);
        margin: 16px 0 12px;
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
      @media (max-width: 599px) {
        dl {
          grid-template-columns: minmax(0, 1fr);
        }
      }
    `,
  ];

  constructor() {
    super();
    this.projectId = null;
    this.tab = "tasks";
    this.refresh = 0;
    this.filesRefresh = 0;
    this.older = [];
    this.olderLoading = false;
    this.olderError = "";
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.#debounce !== null) clearTimeout(this.#debounce);
    this.#debounce = null;
    this.#due.clear();
  }

  override willUpdate(changed: Map<PropertyKey, unknown>): void {
    if (changed.has("projectId") && changed.get("projectId") !== undefined) {
      this.older = [];
      this.#seen = 0;
    }
    // New events that change the plan, the tasks, the end or the workspace: refetch, debounced.
    const id = this.#detail.value?.id;
    if (!id) return;
    const fresh = (this.#liveEvents.value?.[id] ?? []).filter((event) => event.seq > this.#seen);
    if (fresh.length === 0) return;
    this.#seen = Math.max(...fresh.map((event) => event.seq));
    const types = fresh.map((event) => String(event.type));
    if (types.some(changesSchedule)) this.#due.add("detail");
    if (types.some(changesFiles)) this.#due.add("files");
    if (this.#due.size === 0) return;
    if (this.#debounce !== null) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = null;
      if (this.#due.has("detail")) this.refresh++;
      if (this.#due.has("files")) this.filesRefresh++;
      this.#due.clear();
    }, REFETCH_DEBOUNCE_MS);
  }

  /** The detail with the latest summary from the socket laid over it. */
  #current(detail: ProjectDetail): ProjectDetail {
    const live = this.#summaries.value?.[detail.id] as unknown as ProjectSummary | undefined;
    return live && live.updated_at >= detail.updated_at ? { ...detail, ...live } : detail;
  }

  #events(detail: ProjectDetail): ProjectEvent[] {
    const live = (this.#liveEvents.value?.[detail.id] ?? []) as unknown as ProjectEvent[];
    return mergeEvents(this.older, detail.events, live);
  }

  async #loadOlder(detail: ProjectDetail) {
    const oldest = this.#events(detail).at(-1)?.seq ?? 1;
    if (oldest <= 1) return;
    const after = Math.max(0, oldest - 1 - PAGE);
    this.olderLoading = true;
    this.olderError = "";
    try {
      const page = await this.services.api.projectEvents(detail.id, {
        after,
        limit: oldest - 1 - after,
      });
      this.older = [...this.older, ...page.items];
    } catch (error) {
      this.olderError = error instanceof ApiError ? error.message : String(error);
    } finally {
      this.olderLoading = false;
    }
  }

  #tabKeys(event: KeyboardEvent) {
    const index = TABS.findIndex((tab) => tab.id === this.tab);
    const next = event.key === "ArrowRight"
      ? (index + 1) % TABS.length
      : event.key === "ArrowLeft"
      ? (index + TABS.length - 1) % TABS.length
      : event.key === "Home"
      ? 0
      : event.key === "End"
      ? TABS.length - 1
      : -1;
    if (next < 0) return;
    event.preventDefault();
    this.tab = TABS[next]!.id;
    void this.updateComplete.then(() =>
      this.renderRoot.querySelector<HTMLElement>(`#tab-${this.tab}`)?.focus()
    );
  }

  async #taskSelected(event: CustomEvent<TaskSelectDetail>) {
    this.tab = "tasks";
    await this.updateComplete;
    await this.renderRoot.querySelector<SmProjectTasks>("sm-project-tasks")?.focusTask(
      event.detail.taskId,
    );
  }

  #header(project: ProjectDetail) {
    const value = percent(project.progress);
    const summary = project.exit_summary;
    return html`
      <div class="row facts">
        <span class="phase ${project.phase}">${phaseLabel(project.phase)}${project.paused_from
          ? ` (from ${phaseLabel(project.paused_from)})`
          : ""}</span>
        <code title="Short id">${project.short_id}</code>
        <span><progress max="100" .value=${value} aria-label="Progress"></progress> ${value} %</span>
        <span>${project.tasks_done}/${project.tasks_total} tasks done</span>
        <span>${project.max_iterations
          ? `${project.iteration_count} of ${count(project.max_iterations, "iteration")}`
          : count(project.iteration_count, "iteration")}</span>
      </div>
      <dl>
        <dt>Request</dt><dd data-request>${project.request}</dd>
        <dt>Brief</dt><dd>${project.brief ?? "Not written yet."}</dd>
        <dt>End transformation</dt><dd>${project.end_transformation ?? "Not written yet."}</dd>
        ${project.current_task && !project.exit_reason
          ? html`
            <dt>Current task</dt>
            <dd>${project.current_task.name}</dd>
          `
          : project.current_task
          ? html`
            <dt>Stopped during</dt>
            <dd>${project.current_task.name}</dd>
          `
          : nothing}
      </dl>
      ${project.exit_reason
        ? html`<section class="card" aria-labelledby="exit-title">
          <h2 id="exit-title">Ended: ${exitLabel(project.exit_reason)}</h2>
          ${
          summary
            ? html`<p>${summary.tasksDone}/${summary.tasksTotal} tasks, ${
              percent(summary.progress)
            } %, ${count(summary.iterations, "iteration")}.</p>
              ${
              summary.completed.length
                ? html`<p>Done: ${summary.completed.map((task) => task.name).join(", ")}.</p>`
                : nothing
            }
              ${
              summary.remaining.length
                ? html`<p>Remaining: ${
                  summary.remaining.map((task) => `${task.name} (${percent(task.progress)} %)`)
                    .join(", ")
                }.</p>`
                : nothing
            }
              ${
              summary.blockers.length
                ? html`<p>Blockers: ${summary.blockers.join("; ")}.</p>`
                : nothing
            }`
            : nothing
        }
        </section>`
        : nothing}
    `;
  }

  #tabs(project: ProjectDetail) {
    return html`
      <div role="tablist" aria-label="Project views">${TABS.map((tab) =>
        html`
          <button type="button" role="tab" id="tab-${tab.id}" aria-controls="panel-${tab.id}"
            aria-selected=${this.tab === tab.id ? "true" : "false"}
            tabindex=${this.tab === tab.id ? 0 : -1} @click=${() => (this.tab = tab.id)}
            @keydown=${this.#tabKeys}>${tab.label}</button>
        `
      )}</div>
      <div role="tabpanel" id="panel-tasks" aria-labelledby="tab-tasks" ?hidden=${this.tab !==
        "tasks"}>
        <sm-project-tasks .tasks=${project.tasks}></sm-project-tasks>
      </div>
      <div role="tabpanel" id="panel-events" aria-labelledby="tab-events"
        ?hidden=${this.tab !== "events"}>
        <sm-project-events .events=${this.#events(project)} .tasks=${project.tasks}
          ?loading=${this.olderLoading} error=${this.olderError}
          @load-older=${() => void this.#loadOlder(project)}></sm-project-events>
      </div>
      <div role="tabpanel" id="panel-files" aria-labelledby="tab-files" ?hidden=${this.tab !==
        "files"}>
        <sm-project-files .project=${project} ?active=${this.tab === "files"}
          .refresh=${this.filesRefresh}></sm-project-files>
      </div>
      <div role="tabpanel" id="panel-gantt" aria-labelledby="tab-gantt" ?hidden=${this.tab !==
        "gantt"}>
        ${this.renderTask(
          this.#timeline,
          (timeline) =>
            html`<sm-gantt .project=${timeline} @task-select=${this.#taskSelected}></sm-gantt>`,
        )}
      </div>
    `;
  }

  override render(): unknown {
    const loaded = this.#detail.value;
    const project = loaded ? this.#current(loaded) : null;
    return html`
      <p class="crumbs"><a href="/projects">Projects</a></p>
      <h1 tabindex="-1">${project?.name ?? "Project"}</h1>
      ${this.renderTask(this.#detail, () =>
        project
          ? html`
            ${this.#header(project)}
            <section class="card" aria-label="Actions">
              <sm-project-actions .project=${project} .tasks=${project.tasks}></sm-project-actions>
            </section>
            ${this.#tabs(project)}
          `
          : nothing)}
    `;
  }
}
customElements.define("page-project", PageProject);

declare global {
  interface HTMLElementTagNameMap {
    "page-project": PageProject;
  }
}
