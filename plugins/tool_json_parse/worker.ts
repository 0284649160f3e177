/**
 * The sandboxed half of `json_parse` (spec/tools.md §2): validates JSON text
 * with an iterative scanner (exact line and column of the first error,
 * nesting ≤ 256 checked before anything recurses), builds it with
 * `JSON.parse`, and selects a value by a path such as
 * `$.a.b[0]["key.with.dots"]['x']`.
 *
 * Keys are looked up as own properties only: `__proto__`, `constructor` and
 * the like find a key of the document or nothing, never a prototype.
 *
 * The selected value travels back as JSON text (`json`): the frame channel
 * refuses `__proto__`-like keys, which are legitimate in a document.
 *
 * Self-contained: it runs as a blob module in the sandbox, so only
 * `import type` is allowed.
 *
 * @module
 */
import type { WorkerContext } from "@synth/kernel";

/** How deep arrays and objects may nest. */
export const MAX_DEPTH = 256;

/** A JSON type name. */
export type JsonType = "object" | "array" | "string" | "number" | "boolean" | "null";

/** One step of a path: a key or an array index. */
export type PathStep = { key: string } | { index: number };

/** What the worker returns; the host turns `json` into `value`. */
export interface SelectedJson {
  /** The path in canonical form (`a.b[0]["key.with.dots"]`; "" is the root). */
  path: string;
  type: JsonType;
  /** The value's JSON text, or when cut, the JSON of a string preview of it. */
  json: string;
  /** Whether the value was cut to a string preview to fit `maxOutputChars`. */
  truncated: boolean;
  /** Length of the value's full JSON text. */
  totalChars: number;
}

function fail(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

const WHITESPACE = new Set([" ", "\t", "\n", "\r"]);

/** 1-based line and column of an offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function describeAt(text: string, offset: number): string {
  if (offset >= text.length) return "the end of the input";
  const char = String.fromCodePoint(text.codePointAt(offset)!);
  return JSON.stringify(char);
}

/**
 * Checks that `text` is one JSON value nested at most {@link MAX_DEPTH}
 * deep, without recursion.
 *
 * @throws {Error} `TOOLS_JSON_INVALID` with line and column, or `TOOLS_JSON_TOO_DEEP`.
 */
export function validateJson(text: string): void {
  let i = 0;
  const stack: string[] = [];
  type State = "value" | "firstValue" | "key" | "firstKey" | "after";
  let state: State = "value";
  const invalid = (reason: string, at = i): Error => {
    const { line, column } = lineColumn(text, at);
    return fail(
      "TOOLS_JSON_INVALID",
      `Invalid JSON at line ${line}, column ${column}: ${reason}, found ${describeAt(text, at)}`,
    );
  };
  const open = (bracket: string) => {
    stack.push(bracket);
    if (stack.length > MAX_DEPTH) {
      const { line, column } = lineColumn(text, i);
      throw fail(
        "TOOLS_JSON_TOO_DEEP",
        `The JSON nests deeper than ${MAX_DEPTH} levels (line ${line}, column ${column})`,
      );
    }
    i++;
  };
  const string = () => {
    i++;
    for (;;) {
      const code = text.charCodeAt(i);
      if (Number.isNaN(code)) throw invalid("unterminated string");
      if (code === 0x22) {
        i++;
        return;
      }
      if (code < 0x20) throw invalid("a control character must be escaped in a string");
      if (code === 0x5c) {
        const next = text[i + 1];
        if (next === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
            throw invalid("\\u must be followed by four hex digits", i);
          }
          i += 6;
        } else if (next !== undefined && '"\\/bfnrt'.includes(next)) {
          i += 2;
        } else {
          throw invalid("bad escape in a string", i + 1);
        }
      } else i++;
    }
  };
  const number = () => {
    const match = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    match.lastIndex = i;
    const found = match.exec(text);
    if (!found) throw invalid("expected a number");
    i += found[0].length;
    const next = text[i];
    if (next !== undefined && /[\d.eE]/.test(next)) throw invalid("malformed number");
  };
  for (;;) {
    while (i < text.length && WHITESPACE.has(text[i]!)) i++;
    const char = text[i];
    if (state === "value" || state === "firstValue") {
      if (state === "firstValue" && char === "]") {
        stack.pop();
        i++;
        state = "after";
      } else if (char === "{") {
        open("{");
        state = "firstKey";
      } else if (char === "[") {
        open("[");
        state = "firstValue";
      } else if (char === '"') {
        string();
        state = "after";
      } else if (char === "-" || (char !== undefined && char >= "0" && char <= "9")) {
        number();
        state = "after";
      } else {
        const literal = ["true", "false", "null"].find((word) => text.startsWith(word, i));
        if (!literal) throw invalid("expected a value");
        i += literal.length;
        state = "after";
      }
    } else if (state === "key" || state === "firstKey") {
      if (state === "firstKey" && char === "}") {
        stack.pop();
        i++;
        state = "after";
        continue;
      }
      if (char !== '"') throw invalid("expected a double-quoted property name");
      string();
      while (i < text.length && WHITESPACE.has(text[i]!)) i++;
      if (text[i] !== ":") throw invalid('expected ":" after a property name');
      i++;
      state = "value";
    } else {
      const top = stack.at(-1);
      if (top === undefined) {
        if (i < text.length) throw invalid("unexpected text after the JSON value");
        return;
      }
      const close = top === "[" ? "]" : "}";
      if (char === ",") {
        i++;
        state = top === "[" ? "value" : "key";
      } else if (char === close) {
        stack.pop();
        i++;
      } else throw invalid(`expected "," or "${close}"`);
    }
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Renders steps as a canonical path ("" is the root). */
export function formatPath(steps: readonly PathStep[]): string {
  let out = "";
  for (const step of steps) {
    if ("index" in step) out += `[${step.index}]`;
    else if (IDENTIFIER.test(step.key)) out += out === "" ? step.key : `.${step.key}`;
    else out += `[${JSON.stringify(step.key)}]`;
  }
  return out;
}

/**
 * Parses a path: `a.b[0]["k.e.y"]['x']`, an optional leading `$`, names
 * after dots (any characters but `.`, `[`, `]`, quotes and whitespace),
 * indexes ≥ 0 and quoted keys with JSON-style escapes.
 *
 * @throws {Error} `TOOLS_JSON_PATH_SYNTAX` with the position (from 1).
 */
export function parsePath(path: string): PathStep[] {
  const steps: PathStep[] = [];
  const text = path.trim();
  const offset = path.length - path.trimStart().length;
  let i = 0;
  const syntax = (reason: string, at = i) =>
    fail("TOOLS_JSON_PATH_SYNTAX", `Invalid path at position ${offset + at + 1}: ${reason}`);
  const name = () => {
    const match = /[^.[\]'"\s]+/y;
    match.lastIndex = i;
    const found = match.exec(text);
    if (!found) throw syntax(`expected a key name, found ${describeAt(text, i)}`);
    steps.push({ key: found[0] });
    i += found[0].length;
  };
  if (text.startsWith("$")) i = 1;
  else if (text !== "" && text[0] !== "[") name();
  while (i < text.length) {
    const char = text[i]!;
    if (char === ".") {
      i++;
      name();
    } else if (char === "[") {
      i++;
      while (text[i] === " ") i++;
      const quote = text[i];
      if (quote === '"' || quote === "'") steps.push({ key: quoted(quote) });
      else {
        const match = /\d+/y;
        match.lastIndex = i;
        const found = match.exec(text);
        if (!found) {
          throw syntax(
            `expected an index (0 or more) or a quoted key, found ${describeAt(text, i)}`,
          );
        }
        const index = Number(found[0]);
        if (!Number.isSafeInteger(index)) throw syntax("the index is too large");
        steps.push({ index });
        i += found[0].length;
      }
      while (text[i] === " ") i++;
      if (text[i] !== "]") throw syntax(`expected "]", found ${describeAt(text, i)}`);
      i++;
    } else {
      throw syntax(`expected "." or "[", found ${describeAt(text, i)}`);
    }
  }
  return steps;

  function quoted(quote: string): string {
    const start = i;
    i++;
    let key = "";
    for (;;) {
      const char = text[i];
      if (char === undefined) throw syntax("unterminated quoted key", start);
      if (char === quote) {
        i++;
        return key;
      }
      if (char === "\\") {
        const next = text[i + 1];
        const simple: Record<string, string> = {
          '"': '"',
          "'": "'",
          "\\": "\\",
          "/": "/",
          b: "\b",
          f: "\f",
          n: "\n",
          r: "\r",
          t: "\t",
        };
        if (next !== undefined && Object.hasOwn(simple, next)) {
          key += simple[next];
          i += 2;
        } else if (next === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
          key += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else throw syntax("bad escape in a quoted key", i);
      } else {
        key += char;
        i++;
      }
    }
  }
}

/** The JSON type name of a parsed value. */
export function jsonType(value: unknown): JsonType {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value as "object" | "string" | "number" | "boolean";
}

/**
 * Follows `steps` from `root`, reading own properties only.
 *
 * @throws {Error} `TOOLS_JSON_PATH_NOT_FOUND` naming the first missing step,
 *   or `TOOLS_JSON_CANNOT_TRAVERSE` at a string, number, boolean or null.
 */
export function select(root: unknown, steps: readonly PathStep[]): unknown {
  let value = root;
  for (let n = 0; n < steps.length; n++) {
    const step = steps[n]!;
    const at = formatPath(steps.slice(0, n)) || "$";
    const shown = "index" in step ? `[${step.index}]` : JSON.stringify(step.key);
    const type = jsonType(value);
    if (type === "array") {
      const array = value as unknown[];
      // A name of digits indexes an array too: `items.0`.
      const index = "index" in step
        ? step.index
        : /^(?:0|[1-9]\d*)$/.test(step.key)
        ? Number(step.key)
        : undefined;
      if (index === undefined) {
        throw fail(
          "TOOLS_JSON_CANNOT_TRAVERSE",
          `Cannot look up key ${shown} in the array at ${at}: use an index such as [0]`,
        );
      }
      if (index >= array.length) {
        throw fail(
          "TOOLS_JSON_PATH_NOT_FOUND",
          `Step [${index}] not found: the array at ${at} has ${array.length} item${
            array.length === 1 ? "" : "s"
          }`,
        );
      }
      value = array[index];
    } else if (type === "object") {
      const key = "index" in step ? String(step.index) : step.key;
      const own = Object.getOwnPropertyDescriptor(value as object, key);
      if (!own) {
        const keys = Object.keys(value as object);
        const listed = keys.slice(0, 20).map((k) => JSON.stringify(k)).join(", ");
        throw fail(
          "TOOLS_JSON_PATH_NOT_FOUND",
          `Step ${shown} not found: the object at ${at} has ${
            keys.length === 0
              ? "no keys"
              : `the keys ${listed}${keys.length > 20 ? `, … (${keys.length} in all)` : ""}`
          }`,
        );
      }
      value = own.value;
    } else {
      throw fail(
        "TOOLS_JSON_CANNOT_TRAVERSE",
        `Cannot apply step ${shown} to the ${type} at ${at}: only objects and arrays have children`,
      );
    }
  }
  return value;
}

/** The longest prefix of `text` whose JSON string encoding fits `budget` characters. */
function previewFitting(text: string, budget: number): string {
  let used = 2;
  let end = 0;
  while (end < text.length) {
    const cost = JSON.stringify(text[end]!).length - 2;
    if (used + cost > budget) break;
    used += cost;
    end++;
  }
  // Never split a surrogate pair.
  const last = text.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end);
}

/**
 * Parses `text` and selects `path`; when the selected value's JSON is over
 * `maxOutputChars` (less room for the rest of the result), `json` is a
 * string preview of it and `truncated` is true.
 */
export function selectJson(text: string, path: string, maxOutputChars: number): SelectedJson {
  const steps = parsePath(path);
  validateJson(text);
  const value = select(JSON.parse(text), steps);
  const canonical = formatPath(steps);
  const json = JSON.stringify(value);
  const type = jsonType(value);
  const budget = Math.max(0, maxOutputChars - canonical.length - 100);
  if (json.length <= budget) {
    return { path: canonical, type, json, truncated: false, totalChars: json.length };
  }
  const preview = JSON.stringify(previewFitting(json, budget));
  return { path: canonical, type, json: preview, truncated: true, totalChars: json.length };
}

/** Selects `args.path` in the JSON text `args.text`. */
export function run(
  args: { text: string; path: string },
  ctx: WorkerContext,
): Promise<SelectedJson> {
  return Promise.resolve(selectJson(args.text, args.path, ctx.limits.maxOutputChars));
}
