import type { ToolCall, ToolSpec } from "./types.ts";

/**
 * The system-prompt addition for models without native tool calls
 * (spec/llm.md §4.3): the tools and the one reply format that calls them.
 */
export function jsonToolPrompt(tools: readonly ToolSpec[]): string {
  return [
    "You can call tools. To call tools, answer with only this JSON and nothing else:",
    '{"tool_calls":[{"name":"<tool name>","arguments":{...}}]}',
    "Otherwise answer normally. The tools:",
    ...tools.map((tool) =>
      `- ${tool.name}: ${tool.description}\n  arguments JSON Schema: ${
        JSON.stringify(tool.parameters)
      }`
    ),
  ].join("\n");
}

/** Whether a reply's start means it may be a JSON tool call (buffer it rather than stream it). */
export function looksLikeJsonStart(text: string): boolean {
  const start = text.trimStart();
  return start.startsWith("{") || start.startsWith("```");
}

/**
 * The first balanced JSON value opened by `opener` (`{` for an object, `[`
 * for an array) in a text, brackets inside strings ignored, or null.
 */
export function firstJsonValue(text: string, opener: "{" | "["): string | null {
  const start = text.indexOf(opener);
  if (start < 0) return null;
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let i = start; i < text.length; i++) {
    const char = text[i]!;
    if (inString) {
      if (escaped) escaped = false;
      else if (char === "\\") escaped = true;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === "[" || char === "{") depth++;
    else if ((char === "]" || char === "}") && --depth === 0) return text.slice(start, i + 1);
  }
  return null;
}

/** The first balanced JSON object in a text (ignoring braces inside strings), or null. */
export function firstJsonObject(text: string): string | null {
  return firstJsonValue(text, "{");
}

/** Parses JSON, then once more after a light repair (trailing commas, single quotes). */
export function parseLenient(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    let repaired = json.replace(/,\s*([}\]])/g, "$1");
    if (!repaired.includes('"')) repaired = repaired.replaceAll("'", '"');
    return JSON.parse(repaired);
  }
}

/**
 * Reads tool calls from a JSON-mode reply. Accepts a fenced block, prose
 * around it, `{"tool_calls":[…]}`, a single `{"name","arguments"}`,
 * `{"tool","args"}`, `{"function":{"name","arguments"}}`, and arguments
 * given as a JSON string. Null means: treat the reply as text (no JSON, or
 * a tool that was not offered).
 */
export function parseJsonToolCalls(
  text: string,
  offered: ReadonlySet<string>,
  nextId: () => string,
): ToolCall[] | null {
  const json = firstJsonObject(text);
  if (json === null) return null;
  let value: unknown;
  try {
    value = parseLenient(json);
  } catch {
    return null;
  }
  const object = value as Record<string, unknown>;
  const raw = Array.isArray(object.tool_calls) ? object.tool_calls as unknown[] : [object];
  const calls: ToolCall[] = [];
  for (const item of raw) {
    const entry = (item ?? {}) as Record<string, unknown>;
    const fn = (entry.function ?? {}) as Record<string, unknown>;
    const name = entry.name ?? entry.tool ?? fn.name;
    let args: unknown = entry.arguments ?? entry.args ?? fn.arguments ?? {};
    if (typeof name !== "string" || !offered.has(name)) return null;
    if (typeof args === "string") {
      try {
        args = parseLenient(args);
      } catch {
        calls.push({
          id: nextId(),
          name,
          args: {},
          parseError: "the arguments are not valid JSON",
        });
        continue;
      }
    }
    if (args === null || typeof args !== "object" || Array.isArray(args)) {
      calls.push({
        id: nextId(),
        name,
        args: {},
        parseError: "the arguments are not a JSON object",
      });
      continue;
    }
    calls.push({ id: nextId(), name, args: args as Record<string, unknown> });
  }
  return calls.length > 0 ? calls : null;
}
