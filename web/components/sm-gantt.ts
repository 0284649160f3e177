/**
 * `<sm-gantt>` (spec/dashboard.md §5.5): a project's Gantt chart as our own
 * SVG. Geometry comes from the pure `layoutGantt` and goes into SVG
 * attributes; colours come from classes (never a style attribute).
 * - Rows follow the roadmap: a status icon, the name (measured in its
 *   font and ellipsised only when it does not fit; the full name in
 *   `<title>`) and a badge `P<n>`, strongest for P1.
 * - Planned bars are outlined, actual bars filled with their progress;
 *   blocked tasks are hatched and say "blocked", overdue ones have a red
 *   outline and say "overdue"; done tasks say "done".
 * - One elbow arrow per dependency, milestone diamonds (filled when
 *   reached, hollow when planned; the project's own in a row of the axis
 *   band under the "Now" label) and a dashed "Now" line redrawn every 60 s.
 * - The chart scrolls inside its own box; the label column stays put.
 * - `<svg role="img">` carries a generated summary. Each task is focusable
 *   (one tab stop, then ArrowUp/ArrowDown, Home/End) with an `aria-label`
 *   of its name, status and dates; Enter fires `task-select`.
 * - Zoom: `+`, `−` and `0` (fit), as keys and buttons, 0.25×–8×.
 * - Before acceptance: "No schedule yet: accept the plan" and the tasks ("the plan was never
 *   accepted" once the project ended without it).
 *
 * @fires task-select - `{ taskId }` when a task is chosen with Enter or a click.
 * @module
 */
import { html, LitElement, nothing, svg } from "lit";
import {
  fitText,
  type GanttLayout,
  ganttSummary,
  layoutGantt,
  type MeasureText,
  nextZoom,
  statusIcon,
  statusText,
  taskLabel,
  type TaskStatus,
  type TimelineProject,
  type TimelineTask,
} from "../lib/gantt_layout.ts";
import { GANTT_FONT_PX, ganttStyles } from "../theme/gantt.ts";
import { shared } from "../theme/shared.ts";

const STATUSES: TaskStatus[] = ["completed", "in_progress", "ready", "pending"];
const NOW_EVERY_MS = 60_000;
/** The label column: the name starts after the icon, the badge is 40 px from the right edge. */
const NAME_X = 26;
const BADGE_RIGHT = 40;
const NAME_GAP = 6;

/** Text measurers for a font, the normal and the bold (600) weight. */
interface Measurers {
  normal: MeasureText;
  bold: MeasureText;
}

/** The `task-select` event's detail. */
export interface TaskSelectDetail {
  taskId: string;
}

/** A project's Gantt chart. */
export class SmGantt extends LitElement {
  static override properties = {
    project: { attribute: false },
    zoom: { state: true },
    now: { state: true },
    width: { state: true },
    active: { state: true },
  };
  /** The project's timeline (`TimelineProject`). */
  declare project: TimelineProject | null;
  declare zoom: number;
  declare now: Date;
  declare width: number;
  /** The task that holds the tab stop. */
  declare active: number;
  #timer: ReturnType<typeof setInterval> | null = null;
  #resize: ResizeObserver | null = null;
  #canvas: CanvasRenderingContext2D | null = null;
  #widths = new Map<string, number>();

  static override styles = [shared, ganttStyles];

  constructor() {
    super();
    this.project = null;
    this.zoom = 1;
    this.now = new Date();
    this.width = 0;
    this.active = 0;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.now = new Date();
    this.#timer = setInterval(() => (this.now = new Date()), NOW_EVERY_MS);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#resize?.disconnect();
    this.#resize = null;
  }

  override updated(): void {
    const box = this.renderRoot.querySelector<HTMLElement>(".scroll");
    if (box && !this.#resize) {
      this.#resize = new ResizeObserver((entries) => {
        const width = Math.floor(entries[0]?.contentRect.width ?? 0);
        if (width > 0 && width !== this.width) this.width = width;
      });
      this.#resize.observe(box);
    } else if (!box && this.#resize) {
      this.#resize.disconnect();
      this.#resize = null;
    }
  }

  /**
   * Measures text in the chart's font (a canvas context's `measureText`),
   * so names are cut only when they do not fit. Widths are cached by font.
   */
  #measurers(): Measurers {
    const family = getComputedStyle(this).fontFamily;
    this.#canvas ??= document.createElement("canvas").getContext("2d");
    const measurer = (weight: number): MeasureText => {
      const font = `${weight} ${GANTT_FONT_PX}px ${family}`;
      return (text) => {
        const key = `${font}\n${text}`;
        let width = this.#widths.get(key);
        if (width === undefined) {
          const canvas = this.#canvas;
          if (!canvas) throw new Error("Cannot measure the Gantt's text: no 2D canvas context");
          canvas.font = font;
          width = canvas.measureText(text).width;
          this.#widths.set(key, width);
        }
        return width;
      };
    };
    return { normal: measurer(400), bold: measurer(600) };
  }

  #setZoom(action: "in" | "out" | "fit") {
    this.zoom = nextZoom(this.zoom, action);
  }

  #zoomKeys = (event: KeyboardEvent) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const action = event.key === "+" || event.key === "="
      ? "in"
      : event.key === "-" || event.key === "−" || event.key === "_"
      ? "out"
      : event.key === "0"
      ? "fit"
      : null;
    if (!action) return;
    event.preventDefault();
    this.#setZoom(action);
  };

  #focusTask(index: number) {
    const tasks = this.project?.roadmap ?? [];
    if (tasks.length === 0) return;
    this.active = Math.max(0, Math.min(tasks.length - 1, index));
    void this.updateComplete.then(() =>
      this.renderRoot.querySelector<SVGGElement>(`g.task[data-index="${this.active}"]`)?.focus()
    );
  }

  #select(task: TimelineTask) {
    this.dispatchEvent(
      new CustomEvent<TaskSelectDetail>("task-select", {
        detail: { taskId: task.id },
        bubbles: true,
        composed: true,
      }),
    );
  }

  #taskKeys(event: KeyboardEvent, index: number, task: TimelineTask) {
    const moves: Record<string, number> = {
      ArrowDown: index + 1,
      ArrowUp: index - 1,
      Home: 0,
      End: Number.MAX_SAFE_INTEGER,
    };
    if (event.key in moves) {
      event.preventDefault();
      this.#focusTask(moves[event.key]!);
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      this.#select(task);
    }
  }

  #unscheduled(project: TimelineProject) {
    return html`
      <p><strong>${project.exit_reason || project.exit_at
        ? "No schedule: the plan was never accepted."
        : "No schedule yet: accept the plan."}</strong></p>
      <ol class="plain" aria-label="Tasks of ${project.name}">
        ${project.roadmap.map((task) =>
          html`<li data-task=${task.id}>
            <span aria-hidden="true">${statusIcon(task.status)}</span> ${task.name}
            <span class="pill">P${task.priority}</span>
            <span class="muted">${statusText(task.status)}${task.blocked ? ", blocked" : ""}</span>
          </li>`
        )}
      </ol>
    `;
  }

  #bars(layout: GanttLayout, tasks: TimelineTask[], measure: Measurers) {
    const rh = layout.rowHeight;
    return layout.rows.map((row, index) => {
      const task = tasks[index]!;
      const plannedY = row.y + rh * 0.16;
      const actualY = row.y + rh * 0.52;
      const right = Math.max(
        row.planned ? row.planned.x + row.planned.w : 0,
        row.actual ? row.actual.x + row.actual.w : 0,
      );
      const notes = [
        row.status === "completed" ? "done" : null,
        row.status === "in_progress" ? `${Math.round(task.progress * 100)} %` : null,
      ].filter(Boolean).join(" ");
      const notesEnd = right + 6 + (notes ? measure.normal(notes) + 6 : 0);
      const stuckEnd = notesEnd + (row.blocked ? measure.bold("blocked") + 6 : 0);
      return svg`<g class="bars ${row.status} ${row.blocked ? "blocked" : ""} ${
        row.overdue ? "overdue" : ""
      }" data-row=${row.taskId} @click=${() => {
        this.#focusTask(index);
        this.#select(task);
      }}>
        ${
        row.planned
          ? svg`
            <rect class="planned" data-bar="planned" x=${row.planned.x} y=${plannedY} width=${row
              .planned.w}
              height=${rh * 0.28} rx="2"></rect>
          `
          : nothing
      }
        ${
        row.actual
          ? svg`
            <rect class="actual" data-bar="actual" x=${row.actual.x} y=${actualY} width=${row.actual
              .w}
              height=${rh * 0.32} rx="2"></rect>
            <rect class="progress" x=${row.actual.x} y=${actualY} width=${row.actual.progressW}
              height=${rh * 0.32} rx="2"></rect>
          `
          : nothing
      }
        ${
        row.blocked
          ? svg`
            <rect class="hatched" data-bar="blocked" x=${(row.actual ?? row.planned)?.x ??
              layout.labelWidth} y=${row.y + 2} width=${Math.max(
                12,
                (row.actual ?? row.planned)?.w ?? 12,
              )}
              height=${rh - 4}></rect>
          `
          : nothing
      }
        <text class="note" x=${right + 6} y=${row.y + rh / 2 + 4}>${notes}</text>
        ${
        row.blocked
          ? svg`
            <text class="note stuck" x=${notesEnd} y=${row.y + rh / 2 + 4}>blocked</text>
          `
          : nothing
      }
        ${
        row.overdue
          ? svg`<text class="note late" x=${stuckEnd} y=${row.y + rh / 2 + 4}>overdue</text>`
          : nothing
      }
      </g>`;
    });
  }

  /**
   * The label column: its own SVG, sticky at the left of the scrolling box,
   * holding the focusable tasks (kept out of the `role="img"` chart, whose
   * children are presentational). Each task's `aria-label` says it all. A
   * name is measured in its font: one too wide for its room is clipped
   * after the characters that fit and followed by "…"; its text stays whole
   * (the accessible name must contain the visible text) and in `<title>`.
   */
  #labels(layout: GanttLayout, tasks: TimelineTask[], name: string, measure: Measurers) {
    const rh = layout.rowHeight;
    const lw = layout.labelWidth;
    const nameWidth = lw - BADGE_RIGHT - NAME_GAP - NAME_X;
    const active = Math.min(this.active, tasks.length - 1);
    // How much of each name shows: all of it, or the prefix `fitText` keeps before its "…".
    const shown = tasks.map((task) => {
      const fitted = fitText(task.name, nameWidth, measure.normal);
      return fitted === task.name ? null : measure.normal(fitted.slice(0, -1));
    });
    const row = (task: TimelineTask, index: number, y: number) => {
      const mid = y + rh / 2 + 4;
      const cutAt = shown[index] ?? null;
      const rank = task.priority === 1 ? "p1" : task.priority <= 3 ? "p2" : "p3";
      return svg`
        <g class="task" role="button" data-index=${index} data-task=${task.id}
          tabindex=${index === active ? 0 : -1} aria-label=${taskLabel(task, this.now)}
          @keydown=${(event: KeyboardEvent) => this.#taskKeys(event, index, task)}
          @focus=${() => (this.active = index)} @click=${() => this.#select(task)}>
          <rect class="label-bg" x="0" y=${y} width=${lw - 1} height=${rh}></rect>
          <rect class="focus" x="2" y=${y + 2} width=${lw - 5} height=${rh - 4} rx="4"></rect>
          <text class="icon" x="8" y=${mid} aria-hidden="true">${statusIcon(
            task.status,
          )}</text>
          <text class="name" x=${NAME_X} y=${mid} clip-path="url(#name-clip-${index})"><title>${task
            .name}</title>${task.name}</text>
          ${cutAt === null
            ? nothing
            : svg`<text class="name" x=${NAME_X + cutAt} y=${mid} aria-hidden="true">…</text>`}
          <rect class="badge ${rank}" x=${lw - BADGE_RIGHT} y=${y + 7} width="32" height=${rh -
            14}
            rx="8"></rect>
          <text class="badge-text ${rank}" x=${lw - 24} y=${mid} text-anchor="middle"
            aria-hidden="true">P${task.priority}</text>
        </g>
      `;
    };
    return html`
      <svg class="labels" role="group" aria-label="Tasks of ${name}" width=${lw}
        height=${layout.height} viewBox="0 0 ${lw} ${layout.height}">
            <defs>${layout.rows.map((r, index) =>
              svg`
                <clipPath id="name-clip-${index}" clipPathUnits="userSpaceOnUse">
                  <rect x=${NAME_X} y=${r.y} width=${shown[index] ?? nameWidth} height=${rh}></rect>
                </clipPath>
              `
            )}</defs>
            <rect class="label-bg" x="0" y="0" width=${lw} height=${layout.height}></rect>
            <line class="label-edge" x1=${lw - 0.5} x2=${lw - 0.5} y1="0" y2=${layout
              .height}></line>
            <text class="axis-title" x="8" y="14" aria-hidden="true">Task</text>
            ${layout.milestoneBandY === null ? nothing : svg`
              <text class="axis-title" x="8" y=${layout.milestoneBandY + 4} aria-hidden="true">
                Project milestones</text>
            `}
            ${layout.rows.map((r, index) => row(tasks[index]!, index, r.y))}
          </svg>
    `;
  }

  #chart(project: TimelineProject) {
    const width = this.width || 720;
    const layout = layoutGantt(project, {
      now: this.now,
      width,
      zoom: this.zoom,
      labelWidth: width < 560 ? 150 : 220,
    });
    const tasks = project.roadmap;
    const lw = layout.labelWidth;
    const measure = this.#measurers();
    // The chart's SVG shows x from the label column's edge on (layout x includes that column).
    const chartWidth = Math.max(1, layout.width - lw);
    return html`
      <div class="toolbar" role="group" aria-label="Zoom of the chart of ${project.name}">
        <button type="button" aria-label="Zoom out (−)" @click=${() =>
          this.#setZoom("out")}>−</button>
        <button type="button" aria-label="Zoom in (+)" @click=${() =>
          this.#setZoom("in")}>+</button>
        <button type="button" aria-label="Fit to width (0)" @click=${() =>
          this.#setZoom("fit")}>Fit</button>
        <span class="muted" aria-live="polite">${Math.round(this.zoom * 100)} %</span>
      </div>
      <div class="scroll" @keydown=${this.#zoomKeys}>
        ${this.#labels(layout, tasks, project.name, measure)}
        <svg class="chart" role="img" aria-label=${ganttSummary(project)} width=${chartWidth}
          height=${layout.height} viewBox="${lw} 0 ${chartWidth} ${layout.height}">
          <defs>
            <marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"
              markerHeight="7" orient="auto-start-reverse">
              <path class="arrowhead" d="M0 0 L10 5 L0 10 z"></path>
            </marker>
            <pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse"
              patternTransform="rotate(45)">
              <line class="hatch-line" x1="0" y1="0" x2="0" y2="6"></line>
            </pattern>
          </defs>
          ${layout.rows.map((row, index) =>
            index % 2
              ? svg`<rect class="stripe" x=${lw} y=${row.y} width=${chartWidth} height=${layout.rowHeight}></rect>`
              : nothing
          )}
          ${layout.ticks.map((tick) =>
            svg`
              <g class="tick">
                <line x1=${tick.x} x2=${tick.x} y1="18" y2=${layout.height}></line>
                <text x=${tick.x + 3} y="14">${tick.label}</text>
              </g>
            `
          )}
          ${this.#bars(layout, tasks, measure)}
          ${layout.todayX === null ? nothing : svg`
            <g class="now" data-now>
              <line x1=${layout.todayX} x2=${layout.todayX} y1="18" y2=${layout.height}></line>
              <text x=${layout.todayX + 3} y=${layout.nowLabelY}>Now</text>
            </g>
          `}
          <g class="arrows">${layout.arrows.map((arrow) =>
            svg`
              <path class="arrow" data-from=${arrow.from} data-to=${arrow.to} d=${arrow.path}
                marker-end="url(#arrowhead)"></path>
            `
          )}</g>
          <g class="milestones">${layout.milestones.map((m) =>
            svg`
              <path class="milestone ${m.reached ? "reached" : "planned-at"}"
                d="M${m.x} ${m.y - 5} L${m.x + 5} ${m.y} L${m.x} ${m.y + 5} L${m.x - 5} ${m.y} Z">
                <title>${m.label}${m.reached ? "" : " (planned)"}</title>
              </path>
            `
          )}</g>
        </svg>
      </div>
      <p
        class="legend muted">${STATUSES.map((status) =>
          `${statusIcon(status)} ${statusText(status)}`
        ).join(
          " · ",
        )} · outlined bar: planned · filled bar: actual, with progress · hatched: blocked · red
        outline: overdue · ◆ milestone reached, ◇ milestone planned · dashed line: now. Keys: arrows
        move between tasks, Enter opens one, + − 0 zoom.</p>
    `;
  }

  override render(): unknown {
    const project = this.project;
    if (!project) return nothing;
    if (project.roadmap.length === 0) return html`<p class="muted">No tasks yet.</p>`;
    const scheduled = project.roadmap.some((task) => task.planned_start !== null);
    return scheduled ? this.#chart(project) : this.#unscheduled(project);
  }
}
customElements.define("sm-gantt", SmGantt);

declare global {
  interface HTMLElementTagNameMap {
    "sm-gantt": SmGantt;
  }
}
