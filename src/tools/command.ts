/**
 * `/tool` argument forms (spec/tools.md §8): `/tool <name> {json}`,
 * `/tool <name>(key='v', n=3)` and `/tool <name> <text>`, where the text is
 * the tool's first required string argument.
 *
 * @module
 */

/** A parsed `/tool` line. */
export interface ToolCommand {
  name: string;
  /** The arguments, or the plain text when the form was `<text>`. */
  args: Record<string, unknown> | { text: string };
  form: "json" | "call" | "text" | "none";
}

/** Thrown for a line that matches no form; the message says what is wrong. */
export class ToolCommandError extends Error {}

/** Parses what follows `/tool `. */
export function parseToolCommand(rest: string): ToolCommand {
  const match = /^\s*([A-Za-z][A-Za-z0-9_]*)([\s\S]*)$/.exec(rest);
  if (!match) {
    throw new ToolCommandError(
      "Usage: /tool <name> {json} | /tool <name>(key='v', n=3) | /tool <name> <text>",
    );
  }
  const name = match[1]!;
  const tail = match[2]!;
  const trimmed = tail.trim();
  if (trimmed === "") return { name, args: {}, form: "none" };
  if (tail.startsWith("(")) {
    if (!trimmed.endsWith(")")) throw new ToolCommandError("The call form needs a closing )");
    return { name, args: parseKeywords(trimmed.slice(1, -1)), form: "call" };
  }
  if (trimmed.startsWith("{")) {
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      throw new ToolCommandError(`The arguments are not valid JSON: ${(error as Error).message}`);
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new ToolCommandError("The JSON arguments must be an object");
    }
    return { name, args: value as Record<string, unknown>, form: "json" };
  }
  return { name, args: { text: trimmed }, form: "text" };
}

/** `key='v', n=3, flag=true` → an object; values are quoted strings, numbers, booleans or null. */
function parseKeywords(source: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let i = 0;
  const skip = () => {
    while (i < source.length && /\s/.test(source[i]!)) i++;
  };
  skip();
  while (i < source.length) {
    const key = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(i))?.[0];
    if (!key) throw new ToolCommandError(`Expected an argument name at position ${i + 1}`);
    i += key.length;
    skip();
    if (source[i] !== "=") throw new ToolCommandError(`Expected = after ${key}`);
    i++;
    skip();
    const quote = source[i];
    if (quote === "'" || quote === '"') {
      let value = "";
      i++;
      while (i < source.length && source[i] !== quote) {
        if (source[i] === "\\" && i + 1 < source.length) i++;
        value += source[i++];
      }
      if (source[i] !== quote) throw new ToolCommandError(`Unclosed quote in ${key}`);
      i++;
      out[key] = value;
    } else {
      const raw = /^[^,]*/.exec(source.slice(i))![0].trim();
      i += /^[^,]*/.exec(source.slice(i))![0].length;
      if (raw === "true" || raw === "false") out[key] = raw === "true";
      else if (raw === "null") out[key] = null;
      else if (raw !== "" && Number.isFinite(Number(raw))) out[key] = Number(raw);
      else {throw new ToolCommandError(
          `The value of ${key} must be quoted, a number, true, false or null`,
        );}
    }
    skip();
    if (i < source.length) {
      if (source[i] !== ",") throw new ToolCommandError(`Expected , after ${key}`);
      i++;
      skip();
    }
  }
  return out;
}

/** The name of a tool's first required string argument (for the `<text>` form). */
export function firstRequiredString(parameters: Record<string, unknown>): string | null {
  const required = (parameters.required ?? []) as string[];
  const properties = (parameters.properties ?? {}) as Record<string, { type?: unknown }>;
  return required.find((key) => properties[key]?.type === "string") ?? null;
}
