/**
 * The mind's redactor (spec/mind.md §11): removes personal details from
 * text the mind keeps about itself (reflections) or sends away (peers):
 * e-mails, phone numbers, URLs, IP addresses, runs of six or more digits,
 * key-like strings and the users' names.
 *
 * @module
 */

const PATTERNS: Array<[RegExp, string]> = [
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, "[email]"],
  [/\bhttps?:\/\/[^\s)>\]]+/gi, "[url]"],
  [/\b(?:\d{1,3}\.){3}\d{1,3}\b/g, "[ip]"],
  [/\b(?:[0-9a-f]{1,4}:){3,7}[0-9a-f]{1,4}\b/gi, "[ip]"],
  [/(?:\+?\d[\d\s().-]{7,}\d)/g, "[phone]"],
  [/\b(?=[A-Za-z0-9_-]*\d)[A-Za-z0-9_-]{20,}\b/g, "[key]"],
  [/\d{6,}/g, "[number]"],
];

/** Redacts `text`; `names` (users' names and usernames) become `[name]`. */
export function redactPersonal(text: string, names: readonly string[] = []): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  for (const name of names.filter((item) => item.trim().length >= 2)) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    out = out.replace(new RegExp(`\\b${escaped}\\b`, "gi"), "[name]");
  }
  return out;
}
