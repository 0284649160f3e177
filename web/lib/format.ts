/**
 * Formatting helpers for the dashboard (pure).
 *
 * @module
 */

/** `12:04`, or `3 May 12:04` when not today. */
export function shortTime(iso: string | number, now = Date.now()): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const time = date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  const today = new Date(now).toDateString() === date.toDateString();
  return today
    ? time
    : `${date.toLocaleDateString(undefined, { day: "numeric", month: "short" })} ${time}`;
}

/**
 * One short label per chart tick (epoch seconds), as precise as the span needs: `12:04:30` within
 * ten minutes, `12:04` within two days, `3 May` within 200 days, `May 2026` beyond. One line
 * each, so labels never pile up.
 */
export function tickLabels(ticks: readonly number[]): string[] {
  const span = ticks.length > 1 ? ticks.at(-1)! - ticks[0]! : 0;
  const day = 86_400;
  const options: Intl.DateTimeFormatOptions = span < 600
    ? { hour: "2-digit", minute: "2-digit", second: "2-digit" }
    : span < 2 * day
    ? { hour: "2-digit", minute: "2-digit" }
    : span < 200 * day
    ? { day: "numeric", month: "short" }
    : { month: "short", year: "numeric" };
  return ticks.map((tick) =>
    span < 2 * day
      ? new Date(tick * 1_000).toLocaleTimeString(undefined, options)
      : new Date(tick * 1_000).toLocaleDateString(undefined, options)
  );
}

/** `850 ms`, `2.3 s`, `4 min`. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "";
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** Seconds from now until `iso` (never below 0). */
export function secondsUntil(iso: string, now = Date.now()): number {
  return Math.max(0, Math.ceil((new Date(iso).getTime() - now) / 1_000));
}

/** A signed number with two decimals: `+0.25`, `−0.10`. */
export function signed(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return `${value < 0 ? "−" : "+"}${Math.abs(value).toFixed(2)}`;
}

/** Pretty JSON of a JSON text, or the text itself. */
export function prettyJson(text: string | null | undefined): string {
  if (!text) return "";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/**
 * Whether `value` is a path on this origin: it starts with one `/` and holds
 * no backslash or control character. URL parsers read `/\host` as `//host`
 * and drop tabs and newlines (`/\t/host`), so both would leave the origin.
 */
export function isInternalPath(value: string): boolean {
  if (!value.startsWith("/") || value.startsWith("//")) return false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f || code === 0x5c) return false;
  }
  return true;
}

/** Whether an href may be bound: an internal path or an http(s) URL. */
export function safeHref(href: string): string | null {
  if (isInternalPath(href)) return href;
  if (href.startsWith("/")) return null;
  try {
    const url = new URL(href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/** "1 step", "3 steps": a count with its noun, plural unless it is one. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}
