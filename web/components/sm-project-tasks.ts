/**
 * `<sm-project-tasks>` (spec/dashboard.md §5.4, Tasks tab): a project's
 * tasks as a sortable table — key, name, status, priority (P1 runs first),
 * dependency names, estimate, progress, started, completed, iterations and
 * blocked. It is also the Gantt chart's full text alternative. Roadmap order
 * until a column header is chosen; a second choice reverses the order.
 *
 * @module
 */
import { css, html, LitElement, nothing } from "lit";
import { shortTime } from "../lib/format.ts";
import { statusText } from "../lib/gantt_layout.ts";
import { percent, type ProjectTask, sortTasks, type TaskColumn } from "../lib/project_view.ts";
import { shared } from "../theme/shared.ts";

const COLUMNS: ReadonlyArray<{ id: TaskColumn | null; label: string }> = [
  { id: "key", label: "Key" },
  { id: "name", label: "Name" },
  { id: "status", label: "Status" },
  { id: "priority", label: "Priority" },
  { id: null, label: "Depends on" },
  { id: "estimate", label: "Estimate" },
  { id: "progress", label: "Progress" },
  { id: "started_at", label: "Started" },
  { id: "finished_at", label: "Completed" },
  { id: "iterations", label: "Iterations" },
  { id: "blocked", label: "Blocked" },
];

/** The task table. */
export class SmProjectTasks extends LitElement {
  static override properties = {
    tasks: { attribute: false },
    sortBy: { state: true },
    descending: { state: true },
    selected: { state: true },
  };
  declare tasks: ProjectTask[];
  declare sortBy: TaskColumn | null;
  declare descending: boolean;
  /** The task last chosen (from the Gantt chart), highlighted. */
  declare selected: string | null;

  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      th button {
        background: none;
        border: none;
        padding: 4px 0;
        font-weight: 600;
        text-align: left;
      }
      tr.selected {
        background: var(--sm-surface2);
      }
      tr:focus-visible {
        outline: 2px solid var(--sm-focus);
      }
      .num {
        font-variant-numeric: tabular-nums;
      }
      progress {
        width: 80px;
        height: 10px;
        accent-color: var(--sm-accent);
        vertical-align: middle;
      }
      .blocked {
        color: var(--sm-warn);
        font-weight: 600;
      }
    `,
  ];

  constructor() {
    super();
    this.tasks = [];
    this.sortBy = null;
    this.descending = false;
    this.selected = null;
  }

  /** Highlights a task's row and moves focus to it. */
  async focusTask(taskId: string): Promise<void> {
    this.selected = taskId;
    await this.updateComplete;
    const row = this.renderRoot.querySelector<HTMLElement>(`tr[data-task="${CSS.escape(taskId)}"]`);
    row?.scrollIntoView({ block: "nearest" });
    row?.focus();
  }

  #sort(column: TaskColumn) {
    if (this.sortBy === column) this.descending = !this.descending;
    else {
      this.sortBy = column;
      this.descending = false;
    }
  }

  override render(): unknown {
    if (this.tasks.length === 0) return html`<p class="muted">No tasks yet.</p>`;
    const names = new Map(this.tasks.map((task) => [task.id, task.name]));
    const rows = sortTasks(this.tasks, this.sortBy, this.descending);
    const sortState = (id: TaskColumn | null) =>
      id && this.sortBy === id ? (this.descending ? "descending" : "ascending") : nothing;
    return html`
      <table class="stack" aria-label="Tasks">
        <thead>
          <tr>${COLUMNS.map((column) =>
            html`<th scope="col" aria-sort=${sortState(column.id)}>${
              column.id
                ? html`<button type="button" @click=${() =>
                  this.#sort(column.id!)}>${column.label}</button>`
                : column.label
            }</th>`
          )}</tr>
        </thead>
        <tbody>${rows.map((task) =>
          html`
            <tr data-task=${task.id} tabindex="-1" class=${this.selected === task.id
              ? "selected"
              : ""}>
              <td data-label="Key"><code>${task.key}</code></td>
              <td data-label="Name">${task.name}${task.milestone ? " ◆" : ""}</td>
              <td data-label="Status" data-status=${task.status}>${statusText(task.status)}</td>
              <td data-label="Priority" class="num">P${task.priority}</td>
              <td data-label="Depends on">${task.depends_on.map((id) => names.get(id) ?? id).join(
                ", ",
              ) || "—"}</td>
              <td data-label="Estimate" class="num">${task.estimate.hours} h · ${task.estimate
                .iterations} it.</td>
              <td data-label="Progress" class="num">
                        <progress max="100" .value=${percent(task.progress)}
                          aria-label="Progress of ${task.name}"></progress> ${percent(
                            task.progress,
                          )} %
                      </td>
              <td data-label="Started">${task.started_at ? shortTime(task.started_at) : "—"}</td>
              <td data-label="Completed">${task.finished_at
                ? shortTime(task.finished_at)
                : "—"}</td>
              <td data-label="Iterations" class="num">${task.iterations}</td>
              <td data-label="Blocked">${task.blocked
                ? html`<span class="blocked">blocked</span>`
                : "no"}</td>
            </tr>
          `
        )}</tbody>
      </table>
    `;
  }
}
customElements.define("sm-project-tasks", SmProjectTasks);

declare global {
  interface HTMLElementTagNameMap {
    "sm-project-tasks": SmProjectTasks;
  }
}
