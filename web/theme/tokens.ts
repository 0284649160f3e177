/**
 * Design tokens (spec/dashboard.md §6): colours for the light and the dark
 * scheme, and every (foreground, background) pair the components use, which
 * a unit test checks against WCAG contrast (text 4.5:1, UI parts 3:1).
 * `build.ts` turns them into `theme.css`.
 *
 * @module
 */

/** One scheme's colours. */
export interface Palette {
  bg: string;
  surface: string;
  surface2: string;
  text: string;
  muted: string;
  border: string;
  accent: string;
  accentText: string;
  focus: string;
  ok: string;
  warn: string;
  danger: string;
  info: string;
  chartP: string;
  chartA: string;
  chartD: string;
}

/** The light scheme. */
export const LIGHT: Palette = {
  bg: "#f6f7f9",
  surface: "#ffffff",
  surface2: "#eef0f4",
  text: "#1b1f24",
  muted: "#4d5661",
  border: "#6e7781",
  accent: "#0b57d0",
  accentText: "#ffffff",
  focus: "#0b57d0",
  ok: "#146c2e",
  warn: "#8a4b00",
  danger: "#b3261e",
  info: "#0b57d0",
  chartP: "#0b57d0",
  chartA: "#8a4b00",
  chartD: "#146c2e",
};

/** The dark scheme. */
export const DARK: Palette = {
  bg: "#111418",
  surface: "#1b1f24",
  surface2: "#252a31",
  text: "#e8eaed",
  muted: "#aab3bd",
  border: "#8b949e",
  accent: "#8ab4f8",
  accentText: "#0b1a33",
  focus: "#8ab4f8",
  ok: "#6dd58c",
  warn: "#f7b955",
  danger: "#f2b8b5",
  info: "#8ab4f8",
  chartP: "#8ab4f8",
  chartA: "#f7b955",
  chartD: "#6dd58c",
};

/** A pair in use: `min` is 4.5 for text, 3 for large text and UI parts. */
export interface ContrastPair {
  fg: keyof Palette;
  bg: keyof Palette;
  min: 4.5 | 3;
  use: string;
}

/** Every pair the components use. */
export const PAIRS: readonly ContrastPair[] = [
  { fg: "text", bg: "bg", min: 4.5, use: "body text" },
  { fg: "text", bg: "surface", min: 4.5, use: "card text" },
  { fg: "text", bg: "surface2", min: 4.5, use: "raised text" },
  { fg: "muted", bg: "surface", min: 4.5, use: "secondary text" },
  { fg: "muted", bg: "bg", min: 4.5, use: "secondary text on the page" },
  { fg: "accent", bg: "surface", min: 4.5, use: "links" },
  { fg: "accent", bg: "bg", min: 4.5, use: "links on the page" },
  { fg: "accentText", bg: "accent", min: 4.5, use: "primary buttons" },
  { fg: "ok", bg: "surface", min: 4.5, use: "success text" },
  { fg: "warn", bg: "surface", min: 4.5, use: "warning text" },
  { fg: "danger", bg: "surface", min: 4.5, use: "error text" },
  { fg: "border", bg: "surface", min: 3, use: "control borders" },
  { fg: "focus", bg: "surface", min: 3, use: "focus ring" },
  { fg: "focus", bg: "bg", min: 3, use: "focus ring on the page" },
  { fg: "chartP", bg: "surface", min: 3, use: "chart line P" },
  { fg: "chartA", bg: "surface", min: 3, use: "chart line A" },
  { fg: "chartD", bg: "surface", min: 3, use: "chart line D" },
  { fg: "ok", bg: "surface2", min: 4.5, use: "added words of a narrative diff" },
  { fg: "danger", bg: "surface2", min: 4.5, use: "removed words of a narrative diff" },
  { fg: "accent", bg: "surface", min: 3, use: "budget bar, rolling accuracy and difficulty lines" },
  { fg: "warn", bg: "surface", min: 3, use: "budget bar at 80 % or more" },
  { fg: "danger", bg: "surface", min: 3, use: "budget bar over budget" },
];

const cssName = (key: string) => `--sm-${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function block(palette: Palette): string {
  return Object.entries(palette).map(([key, value]) => `  ${cssName(key)}: ${value};`).join("\n");
}

/** The global stylesheet: tokens on :root, the dark overrides, page basics. */
export function themeCss(): string {
  return `:root {
${block(LIGHT)}
  --sm-radius: 8px;
  --sm-gap: 12px;
  --sm-font: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  --sm-mono: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
${block(DARK).replaceAll("\n  ", "\n    ").replace(/^ {2}/, "    ")}
  }
}
html, body { margin: 0; padding: 0; background: var(--sm-bg); color: var(--sm-text); font-family: var(--sm-font); }
body { min-height: 100vh; overflow-x: hidden; }
@media (prefers-reduced-motion: reduce) { * { transition: none !important; animation: none !important; } }
`;
}
