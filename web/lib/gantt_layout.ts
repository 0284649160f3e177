/**
 * The Gantt chart's geometry (spec/dashboard.md §5.5), a pure function of a
 * `TimelineProject` (spec/projects.md §13), the time and the width: the
 * range with 5 % padding, the tick unit (hours up to 48 h, days up to 60
 * days, weeks beyond), planned and actual bars, one elbow arrow per
 * dependency edge, milestone diamonds and the "Now" line. `<sm-gantt>`
 * draws what this returns; nothing here touches the DOM (text widths come
 * from a measuring function the caller passes, see {@link fitText}).
 *
 * @module
 */

/** A task's derived status. */
export type TaskStatus = "pending" | "ready" | "in_progress" | "completed";

/** A roadmap row of `TimelineProject`. */
export interface TimelineTask {
  id: string;
  key: string;
  name: string;
  priority: number;
  progress: number;
  status: TaskStatus;
  /** Task ids. */
  dependencies: string[];
  estimate: { iterations: number; hours: number };
  planned_start: string | null;
  planned_end: string | null;
  started_at: string | null;
  finished_at: string | null;
  iterations: number;
  blocked: boolean;
  milestone: boolean;
}

/** A milestone of `TimelineProject`. */
export interface TimelineMilestone {
  id: string;
  label: string;
  kind: "plan_accepted" | "task" | "exit";
  task_id: string | null;
  planned_at: string | null;
  at: string | null;
}

/** `TimelineProject` (spec/projects.md §13). A project whose build failed has only some keys. */
export interface TimelineProject {
  id: string;
  name: string;
  phase: string;
  progress?: number;
  created_at?: string;
  updated_at?: string;
  plan_accepted_at?: string | null;
  exit_at?: string | null;
  exit_reason?: string | null;
  roadmap: TimelineTask[];
  milestones: TimelineMilestone[];
}

/** `GET /api/timeline`. */
export interface Timeline {
  success: true;
  projects: TimelineProject[];
  total_projects: number;
}

/** A horizontal extent in px. */
export interface Bar {
  x: number;
  w: number;
}

/** One task's row. */
export interface GanttRow {
  taskId: string;
  /** The row's top edge. */
  y: number;
  planned: Bar | null;
  actual: (Bar & { progressW: number }) | null;
  status: TaskStatus;
  blocked: boolean;
  overdue: boolean;
}

/** What `layoutGantt` returns. */
export interface GanttLayout {
  scale: { start: number; end: number; unit: "hour" | "day" | "week"; pxPerMs: number };
  ticks: { x: number; label: string }[];
  rows: GanttRow[];
  /** One per dependency edge, predecessor → successor. */
  arrows: { from: string; to: string; path: string }[];
  milestones: { x: number; y: number; reached: boolean; label: string }[];
  todayX: number | null;
  /**
   * The baseline of the "Now" label, in the axis band between the tick
   * labels and the band of the project's own milestones (those without a
   * task), so a diamond at now never covers the label.
   */
  nowLabelY: number;
  /** False before acceptance: no task has planned dates, so there is no schedule to draw. */
  baseline: boolean;
  /** The drawing's full size, label column included. */
  width: number;
  height: number;
  /** The band above the first row: tick labels, the "Now" label, project milestones. */
  axisHeight: number;
  /** The centre of the band's row of project milestones (those of no task), when there are any. */
  milestoneBandY: number | null;
  rowHeight: number;
  labelWidth: number;
}

/** `layoutGantt`'s options. */
export interface GanttOptions {
  now: Date;
  /** The visible width (label column included). */
  width: number;
  /** 1 = fit the width; see {@link nextZoom}. */
  zoom: number;
  /** @default 32 */
  rowHeight?: number;
  /** @default 220 */
  labelWidth?: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The axis band: tick labels (baseline 14), the "Now" label, then project milestones. */
const AXIS = 56;
const NOW_LABEL_Y = 32;
/** The centre of the project milestones' row: its 10 px diamonds span 40–50. */
const MILESTONE_Y = 45;
/** The narrowest bar: a task done in seconds still shows one you can see and point at. */
const MIN_BAR = 6;
const MIN_TICK_PX = 64;
const ELBOW = 6;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Zoom limits and step (spec/dashboard.md §5.5). */
export const ZOOM = { min: 0.25, max: 8, step: 1.5 } as const;

const ms = (iso: string | null | undefined): number | null => {
  if (!iso) return null;
  const value = Date.parse(iso);
  return Number.isFinite(value) ? value : null;
};
const round = (value: number) => Math.round(value * 10) / 10;

/** The next zoom for `+`, `−` or `0` (fit), within 0.25×–8×. */
export function nextZoom(zoom: number, action: "in" | "out" | "fit"): number {
  if (action === "fit") return 1;
  const next = action === "in" ? zoom * ZOOM.step : zoom / ZOOM.step;
  return Math.min(ZOOM.max, Math.max(ZOOM.min, Math.round(next * 1_000) / 1_000));
}

/** `12 May` (local time). */
export function dayLabel(time: number): string {
  const date = new Date(time);
  return `${date.getDate()} ${MONTHS[date.getMonth()]}`;
}

/** `12 May 14:05` (local time). */
export function dateTimeLabel(time: number): string {
  const date = new Date(time);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${dayLabel(time)} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** Where the open bars of a project end: its exit (or archiving) when it has ended, else now. */
function openEnd(p: TimelineProject, now: number): number {
  if (p.phase === "exit") return ms(p.exit_at) ?? now;
  if (p.phase === "archived") return ms(p.exit_at) ?? ms(p.updated_at) ?? now;
  return now;
}

function tickStep(unit: GanttLayout["scale"]["unit"], pxPerMs: number): number {
  const steps = unit === "hour"
    ? [1, 2, 3, 4, 6, 12, 24].map((n) => n * HOUR)
    : unit === "day"
    ? [1, 2, 3, 7, 14, 28].map((n) => n * DAY)
    : [1, 2, 4, 8, 13, 26, 52].map((n) => n * 7 * DAY);
  return steps.find((step) => step * pxPerMs >= MIN_TICK_PX) ?? steps.at(-1)!;
}

/** The first tick boundary at or after `start`, in local time. */
function firstTick(start: number, unit: GanttLayout["scale"]["unit"], step: number): number {
  const date = new Date(start);
  date.setMinutes(0, 0, 0);
  if (unit === "hour") {
    const hours = step / HOUR;
    date.setHours(Math.floor(date.getHours() / hours) * hours);
  } else {
    date.setHours(0);
    // Weeks start on Monday.
    if (unit === "week") date.setDate(date.getDate() - ((date.getDay() + 6) % 7));
  }
  let time = date.getTime();
  while (time < start) time = advance(time, unit, step);
  return time;
}

/** Steps a tick forward in calendar terms (days stay at midnight across DST changes). */
function advance(time: number, unit: GanttLayout["scale"]["unit"], step: number): number {
  if (unit === "hour") return time + step;
  const date = new Date(time);
  date.setDate(date.getDate() + Math.round(step / DAY));
  return date.getTime();
}

/** Lays out a project's Gantt chart. */
export function layoutGantt(p: TimelineProject, o: GanttOptions): GanttLayout {
  const rowHeight = o.rowHeight ?? 32;
  const labelWidth = o.labelWidth ?? 220;
  const now = o.now.getTime();
  const tasks = p.roadmap;
  const end = openEnd(p, now);
  const baseline = tasks.some((task) => ms(task.planned_start) !== null);

  const starts: number[] = [];
  const ends: number[] = [];
  const add = (list: number[], value: number | null) => value !== null && list.push(value);
  add(starts, ms(p.created_at));
  for (const task of tasks) {
    add(starts, ms(task.planned_start));
    add(starts, ms(task.started_at));
    add(ends, ms(task.planned_end));
    add(ends, ms(task.finished_at));
    if (ms(task.started_at) !== null && ms(task.finished_at) === null) ends.push(end);
  }
  for (const milestone of p.milestones) {
    add(ends, ms(milestone.at));
    add(ends, ms(milestone.planned_at));
  }
  if (p.phase !== "exit" && p.phase !== "archived") ends.push(now);
  const first = starts.length ? Math.min(...starts) : now;
  const last = Math.max(first, ...ends);
  const span = Math.max(last - first, HOUR);
  const unit = span <= 48 * HOUR ? "hour" : span <= 60 * DAY ? "day" : "week";
  const pad = span * 0.05;
  const start = first - pad;
  const stop = first + span + pad;
  const chartWidth = Math.max(1, o.width - labelWidth) * o.zoom;
  const pxPerMs = chartWidth / (stop - start);
  const x = (time: number) => round(labelWidth + (time - start) * pxPerMs);

  const ticks: GanttLayout["ticks"] = [];
  const step = tickStep(unit, pxPerMs);
  for (let time = firstTick(start, unit, step); time <= stop; time = advance(time, unit, step)) {
    const date = new Date(time);
    const midnight = date.getHours() === 0 && date.getMinutes() === 0;
    ticks.push({
      x: x(time),
      label: unit === "hour" && !midnight
        ? `${String(date.getHours()).padStart(2, "0")}:00`
        : dayLabel(time),
    });
  }

  const rows: GanttRow[] = tasks.map((task, index) => {
    const plannedStart = ms(task.planned_start);
    const plannedEnd = ms(task.planned_end);
    const startedAt = ms(task.started_at);
    const finishedAt = ms(task.finished_at);
    const planned = baseline && plannedStart !== null && plannedEnd !== null
      ? { x: x(plannedStart), w: Math.max(MIN_BAR, round(x(plannedEnd) - x(plannedStart))) }
      : null;
    let actual: GanttRow["actual"] = null;
    if (baseline && startedAt !== null) {
      const w = Math.max(MIN_BAR, round(x(finishedAt ?? Math.max(startedAt, end)) - x(startedAt)));
      const done = task.status === "completed" ? 1 : Math.min(1, Math.max(0, task.progress));
      actual = { x: x(startedAt), w, progressW: round(w * done) };
    }
    return {
      taskId: task.id,
      y: AXIS + index * rowHeight,
      planned,
      actual,
      status: task.status,
      blocked: task.blocked,
      // Late at the project's end if it ended (a stopped project's open tasks do not grow late).
      overdue: task.status !== "completed" && plannedEnd !== null && end > plannedEnd,
    };
  });

  const rowOf = new Map(rows.map((row) => [row.taskId, row]));
  const arrows: GanttLayout["arrows"] = [];
  if (baseline) {
    for (const task of tasks) {
      const to = rowOf.get(task.id)!;
      for (const dependency of task.dependencies) {
        const from = rowOf.get(dependency);
        const fromBar = from?.actual ?? from?.planned;
        const toBar = to.actual ?? to.planned;
        if (!from || !fromBar || !toBar) continue;
        arrows.push({ from: dependency, to: task.id, path: elbow(from, fromBar, to, toBar) });
      }
    }
  }

  const milestones: GanttLayout["milestones"] = [];
  if (baseline) {
    for (const milestone of p.milestones) {
      const row = milestone.task_id ? rowOf.get(milestone.task_id) : undefined;
      const y = row ? row.y + rowHeight / 2 : MILESTONE_Y;
      const planned = ms(milestone.planned_at);
      const at = ms(milestone.at);
      if (planned !== null) {
        milestones.push({ x: x(planned), y, reached: false, label: milestone.label });
      }
      if (at !== null) milestones.push({ x: x(at), y, reached: true, label: milestone.label });
    }
  }

  function elbow(from: GanttRow, fromBar: Bar, to: GanttRow, toBar: Bar): string {
    const x1 = round(fromBar.x + fromBar.w);
    const y1 = from.y + rowHeight / 2;
    const x2 = toBar.x;
    const y2 = to.y + rowHeight / 2;
    if (x2 - ELBOW >= x1) return `M${x1} ${y1} H${round(x2 - ELBOW)} V${y2} H${x2}`;
    // The successor starts before the predecessor ends: go round, between the rows.
    const between = y2 > y1 ? to.y : to.y + rowHeight;
    return `M${x1} ${y1} H${round(x1 + ELBOW)} V${between} H${round(x2 - ELBOW)} V${y2} H${x2}`;
  }

  return {
    scale: { start, end: stop, unit, pxPerMs },
    ticks,
    rows,
    arrows,
    milestones,
    todayX: baseline && now >= start && now <= stop ? x(now) : null,
    nowLabelY: NOW_LABEL_Y,
    baseline,
    width: round(labelWidth + chartWidth),
    height: AXIS + tasks.length * rowHeight + 8,
    axisHeight: AXIS,
    milestoneBandY: milestones.some((milestone) => milestone.y === MILESTONE_Y)
      ? MILESTONE_Y
      : null,
    rowHeight,
    labelWidth,
  };
}

/** A text's width in px, in the font it is drawn in. */
export type MeasureText = (text: string) => number;

const ELLIPSIS = "…";
const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * The form of `text` to draw in `width` px: the whole text when it fits,
 * else the longest prefix (whole characters, trailing spaces dropped) that
 * fits with "…" after it. Only a text that does not fit is cut.
 *
 * @example
 * ```ts ignore
 * const measure = (text: string) => text.length * 6;
 * fitText("Build the first version", 140, measure); // "Build the first version"
 * fitText("Build the first version", 100, measure); // "Build the first…"
 * ```
 */
export function fitText(text: string, width: number, measure: MeasureText): string {
  if (measure(text) <= width) return text;
  const parts = [...graphemes.segment(text)].map((part) => part.segment);
  const cut = (count: number) => parts.slice(0, count).join("").trimEnd() + ELLIPSIS;
  // The widest prefix that fits: widths grow with the prefix, so search by halves.
  let low = 0;
  let high = parts.length - 1;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (measure(cut(mid)) <= width) low = mid;
    else high = mid - 1;
  }
  return cut(low);
}

const STATUS_ICON: Record<TaskStatus, string> = {
  completed: "✓",
  in_progress: "▶",
  ready: "○",
  // A clock face: "…" read as a cut-off name ("… Database Schema").
  pending: "◷",
};

/** A status's mark before a task's name (decorative: the words are in the task's label). */
export function statusIcon(status: TaskStatus): string {
  return STATUS_ICON[status];
}

const STATUS_TEXT: Record<TaskStatus, string> = {
  pending: "waiting",
  ready: "ready",
  in_progress: "in progress",
  completed: "done",
};

/** The words for a status. */
export function statusText(status: TaskStatus): string {
  return STATUS_TEXT[status];
}

/** The chart's text summary, e.g. "7 tasks, 2 done, 1 in progress, planned end 12 May". */
export function ganttSummary(p: TimelineProject): string {
  const tasks = p.roadmap;
  const count = (status: TaskStatus) => tasks.filter((task) => task.status === status).length;
  const ends = tasks.map((task) => ms(task.planned_end)).filter((v): v is number => v !== null);
  const parts = [
    `${p.name}: ${tasks.length} ${tasks.length === 1 ? "task" : "tasks"}`,
    `${count("completed")} done`,
    `${count("in_progress")} in progress`,
  ];
  const blocked = tasks.filter((task) => task.blocked).length;
  if (blocked) parts.push(`${blocked} blocked`);
  parts.push(ends.length ? `planned end ${dayLabel(Math.max(...ends))}` : "no schedule yet");
  return parts.join(", ");
}

/** A task's accessible name: name, status, planned and actual dates. */
export function taskLabel(task: TimelineTask, now: Date): string {
  const when = (iso: string | null) => {
    const value = ms(iso);
    return value === null ? null : dateTimeLabel(value);
  };
  const parts = [`${task.name}, P${task.priority}, ${statusText(task.status)}`];
  if (task.blocked) parts.push("blocked");
  const plannedEnd = ms(task.planned_end);
  if (task.status !== "completed" && plannedEnd !== null && now.getTime() > plannedEnd) {
    parts.push("overdue");
  }
  if (task.planned_start) {
    parts.push(`planned ${when(task.planned_start)} to ${when(task.planned_end) ?? "?"}`);
  }
  if (task.started_at) {
    parts.push(
      `actual ${when(task.started_at)} to ${
        when(task.finished_at) ?? `now, ${Math.round(task.progress * 100)} %`
      }`,
    );
  } else parts.push("not started");
  return parts.join("; ");
}
