import assert from "node:assert/strict";
import {
  fitText,
  ganttSummary,
  layoutGantt,
  nextZoom,
  statusIcon,
  statusText,
  taskLabel,
  type TimelineProject,
  type TimelineTask,
} from "../../web/lib/gantt_layout.ts";

const T0 = Date.UTC(2026, 0, 5, 9);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();

/** The web-app template's graph: 7 tasks, 7 edges. */
const GRAPH: Array<[string, string[]]> = [
  ["req", []],
  ["db", ["req"]],
  ["api", ["db"]],
  ["ui", ["req"]],
  ["int", ["api", "ui"]],
  ["test", ["int"]],
  ["deploy", ["test"]],
];

function task(id: string, dependencies: string[], extra: Partial<TimelineTask> = {}): TimelineTask {
  return {
    id,
    key: id,
    name: `Task ${id}`,
    priority: 1,
    progress: 0,
    status: "pending",
    dependencies,
    estimate: { iterations: 2, hours: 2 },
    planned_start: null,
    planned_end: null,
    started_at: null,
    finished_at: null,
    iterations: 0,
    blocked: false,
    milestone: false,
    ...extra,
  };
}

/** The web-app roadmap accepted at T0 with a baseline of 2 h per task. */
function webApp(options: { baseline?: boolean; phase?: string } = {}): TimelineProject {
  const ends = new Map<string, number>();
  const roadmap = GRAPH.map(([id, deps]) => {
    const start = Math.max(T0, ...deps.map((dep) => ends.get(dep)!));
    ends.set(id, start + 2 * HOUR);
    return task(
      id,
      deps,
      options.baseline === false
        ? {}
        : { planned_start: iso(start), planned_end: iso(start + 2 * HOUR) },
    );
  });
  return {
    id: "prj_1",
    name: "Web app",
    phase: options.phase ?? "iteration",
    progress: 0,
    created_at: iso(T0),
    updated_at: iso(T0),
    plan_accepted_at: options.baseline === false ? null : iso(T0),
    exit_at: null,
    exit_reason: null,
    roadmap,
    milestones: options.baseline === false ? [] : [
      {
        id: "m1",
        label: "Plan accepted",
        kind: "plan_accepted",
        task_id: null,
        planned_at: null,
        at: iso(T0),
      },
      {
        id: "m2",
        label: "Task deploy",
        kind: "task",
        task_id: "deploy",
        planned_at: iso(T0 + 12 * HOUR),
        at: null,
      },
    ],
  };
}

const opts = (now: number, extra: Record<string, number> = {}) => ({
  now: new Date(now),
  width: 1020,
  zoom: 1,
  ...extra,
});

Deno.test("the range runs from creation to the last planned end (or now), padded by 5 %", () => {
  const layout = layoutGantt(webApp(), opts(T0 + HOUR));
  // The critical path req → db → api → int → test → deploy: 12 h.
  const span = 12 * HOUR;
  assert.equal(layout.scale.start, T0 - span * 0.05);
  assert.equal(layout.scale.end, T0 + span * 1.05);
  assert.equal(layout.scale.pxPerMs, (1020 - 220) / (span * 1.1));
  // Now later than every date stretches the range to now.
  const late = layoutGantt(webApp(), opts(T0 + 20 * HOUR));
  assert.equal(late.scale.end, T0 + 20 * HOUR * 1.05);
});

Deno.test("the unit is hours up to 48 h, days up to 60 days, weeks beyond", () => {
  const spanning = (span: number) => {
    const project = webApp();
    project.roadmap[6]!.planned_end = iso(T0 + span);
    project.milestones = [];
    return layoutGantt(project, opts(T0)).scale.unit;
  };
  assert.equal(spanning(12 * HOUR), "hour");
  assert.equal(spanning(48 * HOUR), "hour");
  assert.equal(spanning(49 * HOUR), "day");
  assert.equal(spanning(60 * DAY), "day");
  assert.equal(spanning(61 * DAY), "week");
});

Deno.test("ticks are ordered, inside the chart and at least 64 px apart", () => {
  for (const span of [12 * HOUR, 10 * DAY, 200 * DAY]) {
    const project = webApp();
    project.roadmap[6]!.planned_end = iso(T0 + span);
    const layout = layoutGantt(project, opts(T0));
    assert.ok(layout.ticks.length >= 2, `ticks for ${span}`);
    for (let i = 1; i < layout.ticks.length; i++) {
      assert.ok(layout.ticks[i]!.x - layout.ticks[i - 1]!.x >= 63.9);
    }
    assert.ok(layout.ticks.every((tick) => tick.x >= 220 && tick.x <= layout.width));
    assert.ok(layout.ticks.every((tick) => tick.label.length > 0));
  }
});

Deno.test("a task done in seconds on a chart of hours still gets a bar 6 px wide, filled", () => {
  const project = webApp();
  const [req] = project.roadmap;
  Object.assign(req!, {
    status: "completed",
    progress: 1,
    started_at: iso(T0),
    finished_at: iso(T0 + 5_000),
  });
  const layout = layoutGantt(project, opts(T0 + 5 * HOUR));
  assert.ok(5_000 * layout.scale.pxPerMs < 1, "its true width is under a pixel");
  const actual = layout.rows[0]!.actual!;
  assert.equal(actual.w, 6);
  assert.equal(actual.progressW, 6);
});

Deno.test("bars: planned from planned start to end; actual from start to finish or now, filled by progress", () => {
  const project = webApp();
  const [req, db, api] = project.roadmap;
  Object.assign(req!, {
    status: "completed",
    progress: 1,
    started_at: iso(T0),
    finished_at: iso(T0 + 3 * HOUR),
  });
  Object.assign(db!, { status: "in_progress", progress: 0.25, started_at: iso(T0 + 3 * HOUR) });
  const now = T0 + 5 * HOUR;
  const layout = layoutGantt(project, opts(now));
  const { start, pxPerMs } = layout.scale;
  const x = (time: number) => 220 + (time - start) * pxPerMs;
  const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 0.11, `${a} ≈ ${b}`);

  const rows = layout.rows;
  assert.deepEqual(rows.map((row) => row.taskId), GRAPH.map(([id]) => id));
  assert.deepEqual(rows.map((row) => row.y), [56, 88, 120, 152, 184, 216, 248]);
  near(rows[0]!.planned!.x, x(T0));
  near(rows[0]!.planned!.w, 2 * HOUR * pxPerMs);
  near(rows[2]!.planned!.x, x(T0 + 4 * HOUR));
  near(rows[0]!.actual!.x, x(T0));
  near(rows[0]!.actual!.w, 3 * HOUR * pxPerMs);
  assert.equal(rows[0]!.actual!.progressW, rows[0]!.actual!.w);
  // In progress: up to now, a quarter filled; late, so overdue.
  near(rows[1]!.actual!.x, x(T0 + 3 * HOUR));
  near(rows[1]!.actual!.w, 2 * HOUR * pxPerMs);
  near(rows[1]!.actual!.progressW, rows[1]!.actual!.w * 0.25);
  assert.equal(rows[1]!.overdue, true);
  assert.equal(rows[0]!.overdue, false, "a completed task is never overdue");
  assert.equal(rows[2]!.actual, null, "not started: no actual bar");
  assert.equal(rows[2]!.overdue, false);
  assert.equal(api!.status, "pending");
  // Zoom widens the chart, not the label column.
  const zoomed = layoutGantt(project, opts(now, { zoom: 2 }));
  assert.equal(zoomed.width, 220 + 800 * 2);
  near(zoomed.rows[0]!.planned!.w, rows[0]!.planned!.w * 2);
});

Deno.test("one elbow arrow per dependency edge, from the predecessor's end to the successor's start", () => {
  const project = webApp();
  const layout = layoutGantt(project, opts(T0 + HOUR));
  const edges = GRAPH.flatMap(([id, deps]) => deps.map((dep) => `${dep}→${id}`)).sort();
  assert.equal(layout.arrows.length, 7);
  assert.deepEqual(layout.arrows.map((arrow) => `${arrow.from}→${arrow.to}`).sort(), edges);
  const row = (id: string) => layout.rows.find((r) => r.taskId === id)!;
  for (const arrow of layout.arrows) {
    const from = row(arrow.from);
    const to = row(arrow.to);
    const numbers = arrow.path.match(/-?[\d.]+/g)!.map(Number);
    // Touching bars (the baseline's successors start as their predecessors end) go round.
    assert.match(arrow.path, /^M[\d.]+ [\d.]+ H[\d.]+ V[\d.]+ H[\d.]+( V[\d.]+ H[\d.]+)?$/);
    assert.ok(Math.abs(numbers[0]! - (from.planned!.x + from.planned!.w)) < 0.11);
    assert.equal(numbers[1], from.y + 16);
    assert.equal(numbers.at(-1), to.planned!.x);
    assert.equal(numbers.at(-2), to.y + 16);
  }
  // A gap between the bars: a plain elbow.
  const gap = webApp();
  gap.roadmap[1]!.planned_start = iso(T0 + 3 * HOUR);
  gap.roadmap[1]!.planned_end = iso(T0 + 5 * HOUR);
  const plain = layoutGantt(gap, opts(T0 + HOUR)).arrows.find((arrow) => arrow.to === "db")!;
  assert.match(plain.path, /^M[\d.]+ [\d.]+ H[\d.]+ V[\d.]+ H[\d.]+$/);
  // A successor that started before its predecessor ended: the arrow goes round.
  const [req, db] = project.roadmap;
  Object.assign(req!, { status: "in_progress", started_at: iso(T0) });
  Object.assign(db!, { status: "in_progress", started_at: iso(T0 + HOUR / 2) });
  const late = layoutGantt(project, opts(T0 + HOUR));
  const back = late.arrows.find((arrow) => arrow.to === "db")!;
  assert.match(back.path, /^M[\d.]+ [\d.]+ H[\d.]+ V[\d.]+ H[\d.]+ V[\d.]+ H[\d.]+$/);
  // Arrows start from the actual bar when there is one.
  const from = late.rows[0]!.actual!;
  assert.ok(back.path.startsWith(`M${Math.round((from.x + from.w) * 10) / 10} `), back.path);
});

Deno.test("milestones: filled at `at`, hollow at `planned_at`, on their task's row", () => {
  const layout = layoutGantt(webApp(), opts(T0 + HOUR));
  assert.equal(layout.milestones.length, 2);
  const [accepted, deploy] = layout.milestones;
  assert.equal(accepted!.reached, true);
  assert.equal(accepted!.x, layout.rows[0]!.planned!.x);
  assert.ok(accepted!.y < layout.axisHeight, "a project milestone sits in the axis band");
  assert.equal(deploy!.reached, false);
  assert.equal(deploy!.y, layout.rows[6]!.y + 16);
  const end = layout.rows[6]!.planned!;
  assert.ok(Math.abs(deploy!.x - (end.x + end.w)) < 0.11);
});

Deno.test("a project milestone has its own row in the axis band, clear of the Now label, which the label column names", () => {
  // Accepted at T0 and looked at then: the diamond and the Now line share their x.
  const layout = layoutGantt(webApp(), opts(T0));
  const accepted = layout.milestones.find((m) => m.label === "Plan accepted")!;
  assert.equal(accepted.x, layout.todayX);
  // The label's glyphs (12 px, no descenders) sit above its baseline; the diamond is 10 px tall.
  assert.ok(accepted.y - 5 >= layout.nowLabelY + 2, "the diamond is below the Now label");
  assert.ok(layout.nowLabelY - 12 >= 18, "the Now label is below the tick labels");
  assert.ok(accepted.y + 5 <= layout.rows[0]!.y, "the diamond is above the first row");
  // The label column names that row; a project with only task milestones has none to name.
  assert.equal(layout.milestoneBandY, accepted.y);
  const onlyTasks = webApp();
  onlyTasks.milestones = onlyTasks.milestones.filter((m) => m.task_id !== null);
  assert.equal(layoutGantt(onlyTasks, opts(T0)).milestoneBandY, null);
});

Deno.test("the Now line: at now inside the range, null once an ended project's range is past", () => {
  const layout = layoutGantt(webApp(), opts(T0 + 3 * HOUR));
  const { start, pxPerMs } = layout.scale;
  assert.ok(Math.abs(layout.todayX! - (220 + (T0 + 3 * HOUR - start) * pxPerMs)) < 0.11);
  const ended = webApp({ phase: "exit" });
  ended.exit_at = iso(T0 + 12 * HOUR);
  assert.equal(layoutGantt(ended, opts(T0 + 30 * DAY)).todayX, null);
  assert.equal(layoutGantt(ended, opts(T0 - DAY)).todayX, null, "now before the project");
});

Deno.test("without a baseline there is no schedule: rows only, no bars, arrows, milestones or Now", () => {
  const layout = layoutGantt(webApp({ baseline: false }), opts(T0 + HOUR));
  assert.equal(layout.baseline, false);
  assert.equal(layout.rows.length, 7);
  assert.ok(layout.rows.every((row) => row.planned === null && row.actual === null));
  assert.deepEqual(layout.arrows, []);
  assert.deepEqual(layout.milestones, []);
  assert.equal(layout.todayX, null);
  assert.equal(layoutGantt(webApp(), opts(T0)).baseline, true);
});

Deno.test("blocked and overdue flags follow the task", () => {
  const project = webApp();
  project.roadmap[3]!.blocked = true;
  const layout = layoutGantt(project, opts(T0 + 3 * HOUR));
  assert.deepEqual(layout.rows.map((row) => row.blocked), [
    false,
    false,
    false,
    true,
    false,
    false,
    false,
  ]);
  // At 3 h, req (planned 0–2 h) is open and late; db and ui (planned 2–4 h) are not yet.
  assert.deepEqual(layout.rows.filter((row) => row.overdue).map((row) => row.taskId), ["req"]);
  // Stopped at 1 h, a week later: nothing was late when it ended, and nothing grows late since.
  const stopped = { ...webApp(), phase: "exit", exit_at: iso(T0 + HOUR), exit_reason: "user_stop" };
  const later = layoutGantt(stopped, opts(T0 + 7 * DAY));
  assert.deepEqual(later.rows.filter((row) => row.overdue).map((row) => row.taskId), []);
  // Stopped at 3 h: req was late then, and stays marked so.
  const late = layoutGantt({ ...stopped, exit_at: iso(T0 + 3 * HOUR) }, opts(T0 + 7 * DAY));
  assert.deepEqual(late.rows.filter((row) => row.overdue).map((row) => row.taskId), ["req"]);
});

Deno.test("zoom steps by 1.5 between 0.25× and 8×; 0 fits", () => {
  assert.equal(nextZoom(1, "in"), 1.5);
  assert.equal(nextZoom(1, "out"), 0.667);
  assert.equal(nextZoom(6, "in"), 8);
  assert.equal(nextZoom(8, "in"), 8);
  assert.equal(nextZoom(0.3, "out"), 0.25);
  assert.equal(nextZoom(5, "fit"), 1);
});

Deno.test("the summary and the task labels give the text alternatives", () => {
  const project = webApp();
  Object.assign(project.roadmap[0]!, {
    status: "completed",
    progress: 1,
    started_at: iso(T0),
    finished_at: iso(T0 + HOUR),
  });
  Object.assign(project.roadmap[1]!, { status: "in_progress", started_at: iso(T0 + HOUR) });
  assert.match(
    ganttSummary(project),
    /^Web app: 7 tasks, 1 done, 1 in progress, planned end \d+ Jan$/,
  );
  const label = taskLabel(project.roadmap[1]!, new Date(T0 + 5 * HOUR));
  assert.match(
    label,
    /^Task db, P1, in progress; overdue; planned .+ to .+; actual .+ to now, 0 %$/,
  );
});

/** Widths like a proportional font's: narrow letters 3 px, wide ones 9 px, others 6 px. */
function measure(text: string): number {
  let width = 0;
  for (const char of text) {
    width += /[iljtf.,' ]/.test(char) ? 3 : /[mwMW…]/.test(char) ? 9 : 6;
  }
  return width;
}

Deno.test("a name that fits is drawn whole, without an ellipsis, however many letters it has", () => {
  const name = "Build the first version"; // 23 letters, 108 px here: more than 7 px each allows
  assert.equal(measure(name), 108);
  assert.equal(fitText(name, 108, measure), name);
  assert.equal(fitText(name, 107, measure), "Build the first versi…", "1 px short: cut");
  assert.equal(fitText(name, 150, measure), name);
  assert.equal(fitText("", 0, measure), "");
});

Deno.test("a name that does not fit is cut to the longest prefix that fits with the ellipsis", () => {
  const name = "Requirements & Architecture";
  for (const width of [20, 60, 100, 140]) {
    const shown = fitText(name, width, measure);
    assert.ok(shown.endsWith("…"), shown);
    assert.ok(measure(shown) <= width, `"${shown}" is ${measure(shown)} px, over ${width}`);
    const prefix = shown.slice(0, -1);
    assert.ok(name.startsWith(prefix), shown);
    assert.equal(prefix, prefix.trimEnd(), "no space before the ellipsis");
    // One more letter would not fit.
    const longer = name.slice(0, [...prefix].length + 1).trimEnd() + "…";
    if (longer !== shown) assert.ok(measure(longer) > width, `"${longer}" fits ${width} px too`);
  }
  assert.equal(fitText(name, 100, measure), "Requirements & A…");
  assert.equal(fitText(name, 5, measure), "…", "nothing fits: the ellipsis alone");
  // Whole characters only: an emoji sequence is never split.
  assert.equal(fitText("Ship 👩‍💻 build", 40, () => 50), "…");
  assert.equal(fitText("Ship 👩‍💻 build", 40, (text) => [...text].length * 4), "Ship 👩‍💻…");
});

Deno.test("each status has its own icon, and waiting is not an ellipsis that reads as cut-off text", () => {
  const statuses = ["pending", "ready", "in_progress", "completed"] as const;
  const icons = statuses.map(statusIcon);
  assert.equal(new Set(icons).size, statuses.length);
  for (const icon of icons) assert.doesNotMatch(icon, /…|\.\.\.|^\s*$/);
  assert.equal(statusIcon("pending"), "◷");
  assert.equal(statusText("pending"), "waiting", "the words for screen readers");
});
