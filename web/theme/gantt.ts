/**
 * The Gantt chart's styles (`<sm-gantt>`, spec/dashboard.md §5.5): colours come from these
 * classes, never from a style attribute.
 *
 * @module
 */
import { css } from "lit";

/** The chart's font size in px; the component measures text in it. */
export const GANTT_FONT_PX = 12;

export const ganttStyles = css`
  :host {
    display: block;
    min-width: 0;
  }
  .toolbar {
    display: flex;
    flex-wrap: wrap;
    gap: 8px;
    align-items: center;
    margin-bottom: 8px;
  }
  .toolbar button {
    min-width: 44px;
  }
  .scroll {
    display: flex;
    overflow-x: auto;
    overflow-y: hidden;
    max-width: 100%;
    border: 1px solid var(--sm-surface2);
    border-radius: var(--sm-radius);
    background: var(--sm-surface);
  }
  svg {
    display: block;
    flex: none;
    font-family: var(--sm-font);
    font-size: ${GANTT_FONT_PX}px;
  }
  .stripe {
    fill: var(--sm-bg);
  }
  .tick line {
    stroke: var(--sm-surface2);
  }
  .tick text,
  .axis-title {
    fill: var(--sm-muted);
  }
  .planned {
    fill: none;
    stroke: var(--sm-border);
    stroke-width: 1.5;
  }
  .actual {
    fill: var(--sm-surface2);
    stroke: var(--sm-accent);
  }
  .progress {
    fill: var(--sm-accent);
  }
  .completed .progress {
    fill: var(--sm-ok);
  }
  .completed .actual {
    stroke: var(--sm-ok);
  }
  .hatched {
    fill: url(#hatch);
  }
  .hatch-line {
    stroke: var(--sm-warn);
    stroke-width: 2;
  }
  .overdue .planned,
  .overdue .actual {
    stroke: var(--sm-danger);
    stroke-width: 2;
  }
  .note {
    fill: var(--sm-text);
  }
  .overdue .note.late {
    fill: var(--sm-danger);
    font-weight: 600;
  }
  .blocked .note.stuck {
    fill: var(--sm-warn);
    font-weight: 600;
  }
  .arrow {
    fill: none;
    stroke: var(--sm-muted);
    stroke-width: 1.25;
  }
  .arrowhead {
    fill: var(--sm-muted);
  }
  .milestone {
    stroke: var(--sm-accent);
    stroke-width: 1.5;
  }
  .milestone.reached {
    fill: var(--sm-accent);
  }
  .milestone.planned-at {
    fill: var(--sm-surface);
  }
  .now line {
    stroke: var(--sm-text);
    stroke-width: 1.5;
    stroke-dasharray: 4 3;
  }
  .now text {
    fill: var(--sm-text);
    font-weight: 600;
  }
  svg.labels {
    position: sticky;
    left: 0;
    z-index: 1;
  }
  .label-bg {
    fill: var(--sm-surface);
  }
  .label-edge {
    stroke: var(--sm-border);
  }
  .task {
    cursor: pointer;
    outline: none;
  }
  .task text {
    fill: var(--sm-text);
  }
  .task .focus {
    fill: none;
    stroke: none;
  }
  .task:focus .focus,
  .task:focus-visible .focus {
    stroke: var(--sm-focus);
    stroke-width: 2;
  }
  .badge {
    fill: var(--sm-surface);
    stroke: var(--sm-border);
  }
  .task text.badge-text {
    fill: var(--sm-muted);
    font-weight: 600;
  }
  .badge.p1 {
    fill: var(--sm-accent);
    stroke: var(--sm-accent);
  }
  .task text.badge-text.p1 {
    fill: var(--sm-accent-text);
  }
  .badge.p2 {
    fill: var(--sm-surface2);
  }
  .task text.badge-text.p2 {
    fill: var(--sm-text);
  }
  .legend {
    margin: 6px 0 0;
    font-size: 0.85rem;
  }
  ol.plain {
    padding-left: 1.2em;
  }
  .pill {
    border: 1px solid var(--sm-border);
    border-radius: 999px;
    padding: 0 6px;
    font-size: 0.8rem;
  }
`;
