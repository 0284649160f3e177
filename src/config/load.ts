import { parse as parseJsonc, type ParseError, printParseErrorCode } from "jsonc-parser";
import type { z } from "zod";
import { plainIssueMessage } from "../issue_text.ts";
import { type ConfigField, knownKeysAt, listConfigFields } from "./fields.ts";
import type { ResolvedConfig } from "./schema.ts";

/** The file names looked for in the working directory, in order. */
export const CONFIG_FILE_NAMES: readonly string[] = [
  "synth.config.jsonc",
  "synth.config.json",
];

/** Values given as command-line flags of `serve`, keyed by flag name. */
export type ConfigFlags = Readonly<Record<string, string | undefined>>;

/** Options for {@link loadConfig}. */
export interface LoadConfigOptions {
  /** The full schema from `buildConfigSchema()`. */
  schema: z.ZodType<ResolvedConfig>;
  /** Reads an environment variable. @default none are set */
  env?: (name: string) => string | undefined;
  /** Flags such as `{ "--port": "9000", "--config": "x.json" }`. */
  flags?: ConfigFlags;
  /** Where `./synth.config.json(c)` is looked for. @default Deno.cwd() */
  cwd?: string;
  /**
   * Config given as an object instead of a file (tests and embedders).
   * When set, no file is looked for.
   */
  input?: Record<string, unknown>;
  /** Reads a file as text; `undefined` when it does not exist. */
  readTextFile?: (path: string) => string | undefined;
}

/** Where the config came from. */
export interface ConfigOrigin {
  /** The file read, or null when none was found (defaults and env only). */
  file: string | null;
  /** Config files present but not read because an earlier one won. */
  ignoredFiles: string[];
  /** Keys set by environment variables or flags, with where they came from. */
  overrides: Record<string, string>;
}

/** The result of {@link loadConfig}. */
export interface LoadedConfig {
  /** Validated, defaults filled, deep-frozen. */
  config: ResolvedConfig;
  origin: ConfigOrigin;
  /** The settable keys of the schema. */
  fields: ConfigField[];
}

/** One problem found while loading the config. */
export interface ConfigIssue {
  /** Dotted key path, or `""` for the file itself. */
  key: string;
  /** The problem in one sentence, without the `config:` prefix. */
  message: string;
}

/**
 * The config could not be loaded. `message` holds one line per issue, each
 * starting with `config:` and naming the key, the expected form, the value
 * seen and where it came from.
 */
export class ConfigError extends Error {
  /** Every problem found, in the order found. */
  readonly issues: ConfigIssue[];

  /** Creates the error from its issues. */
  constructor(issues: ConfigIssue[]) {
    // One value failing two checks (a URL that is also no origin) is one line, not two alike.
    const unique = issues.filter((issue, index) =>
      issues.findIndex((other) => other.key === issue.key && other.message === issue.message) ===
        index
    );
    super(unique.map((issue) => `config: ${issue.message}`).join("\n"));
    this.name = "ConfigError";
    this.issues = unique;
  }
}

function defaultReadTextFile(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/**
 * Resolves the configuration: defaults < file < environment < flags.
 *
 * @throws {ConfigError} With every problem found, each naming its key.
 */
export function loadConfig(options: LoadConfigOptions): LoadedConfig {
  const env = options.env ?? (() => undefined);
  const flags = options.flags ?? {};
  const readTextFile = options.readTextFile ?? defaultReadTextFile;
  const fields = listConfigFields(options.schema);
  const overrides: Record<string, string> = {};
  const issues: ConfigIssue[] = [];

  let raw: Record<string, unknown> = {};
  let file: string | null = null;
  let ignoredFiles: string[] = [];
  if (options.input) {
    raw = structuredClone(options.input);
  } else {
    const found = readConfigFile(options.cwd ?? Deno.cwd(), flags, env, readTextFile);
    file = found.file;
    if (found.issue) throw new ConfigError([found.issue]);
    raw = found.value ?? {};
    ignoredFiles = found.ignoredFiles ?? [];
  }
  const fileLabel = file ?? "config input";

  for (const field of fields) {
    const fromEnv = readEnv(field, env, readTextFile);
    if (fromEnv.issue) issues.push(fromEnv.issue);
    if (fromEnv.source !== undefined) {
      setIn(raw, field.path, parseEnvValue(field, fromEnv.value ?? ""));
      overrides[field.key] = fromEnv.source;
    }
    if (field.flag && flags[field.flag] !== undefined) {
      setIn(raw, field.path, parseEnvValue(field, flags[field.flag] ?? ""));
      overrides[field.key] = field.flag;
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const result = options.schema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.flatMap((issue) =>
        describeIssue(issue, { fields, raw, overrides, fileLabel, schema: options.schema })
      ),
    );
  }
  return { config: deepFreeze(result.data), origin: { file, ignoredFiles, overrides }, fields };
}

interface FoundFile {
  file: string | null;
  ignoredFiles?: string[];
  value?: Record<string, unknown>;
  issue?: ConfigIssue;
}

/**
 * Why a file the configuration names could not be read. Deno's own text for a path outside the
 * permission set advises a flag nobody can add to the start task or the binary.
 */
export function readFailure(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable) {
    return "the permission set does not allow reading it (the server reads files under its own " +
      "directory: put the file there, e.g. in ./data/secrets/)";
  }
  return error instanceof Error ? error.message : String(error);
}

function readConfigFile(
  cwd: string,
  flags: ConfigFlags,
  env: (name: string) => string | undefined,
  readTextFile: (path: string) => string | undefined,
): FoundFile {
  const explicit = flags["--config"] ?? (env("SYNTH_CONFIG") || undefined);
  const candidates = explicit !== undefined
    ? [explicit]
    : CONFIG_FILE_NAMES.map((name) => `${cwd}/${name}`);
  for (const path of candidates) {
    let text: string | undefined;
    try {
      text = readTextFile(path);
    } catch (error) {
      return {
        file: path,
        issue: { key: "", message: `cannot read "${path}": ${readFailure(error)}` },
      };
    }
    if (text === undefined) continue;
    const errors: ParseError[] = [];
    const value = parseJsonc(text, errors, { allowTrailingComma: true });
    if (errors.length > 0) {
      const first = errors[0]!;
      const { line, column } = lineAndColumn(text, first.offset);
      return {
        file: path,
        issue: {
          key: "",
          message: `${path}:${line}:${column} is not valid JSON with comments (${
            printParseErrorCode(first.error)
          })`,
        },
      };
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return {
        file: path,
        issue: { key: "", message: `${path} must contain a JSON object at the top level` },
      };
    }
    const later = candidates.slice(candidates.indexOf(path) + 1);
    const ignoredFiles = later.filter((other) => {
      try {
        return readTextFile(other) !== undefined;
      } catch {
        return false; // unreadable files are not worth a warning here
      }
    });
    return { file: path, value, ignoredFiles };
  }
  if (explicit !== undefined) {
    const source = flags["--config"] !== undefined ? "--config" : "SYNTH_CONFIG";
    return {
      file: null,
      issue: { key: "", message: `the config file "${explicit}" does not exist (from ${source})` },
    };
  }
  return { file: null };
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

interface EnvRead {
  source?: string;
  value?: string;
  issue?: ConfigIssue;
}

function readEnv(
  field: ConfigField,
  env: (name: string) => string | undefined,
  readTextFile: (path: string) => string | undefined,
): EnvRead {
  let found: EnvRead = {};
  // Aliases first, so the canonical SYNTH_ name wins when both are set.
  for (const name of [...field.aliases, field.env]) {
    const value = env(name);
    if (value !== undefined) found = { source: name, value };
  }
  if (field.secret && found.source === undefined) {
    for (const name of [...field.aliases, field.env]) {
      const path = env(`${name}_FILE`);
      if (path === undefined) continue;
      let text: string | undefined;
      try {
        text = readTextFile(path);
      } catch (error) {
        return {
          issue: {
            key: field.key,
            message: `${field.key} could not be read from "${path}" (from ${name}_FILE): ${
              readFailure(error)
            }`,
          },
        };
      }
      if (text === undefined) {
        return {
          issue: {
            key: field.key,
            message: `${field.key} must name an existing file (got "${path}", from ${name}_FILE)`,
          },
        };
      }
      found = { source: `${name}_FILE`, value: text.replace(/\r?\n$/, "") };
    }
  }
  return found;
}

/**
 * Turns an environment or flag string into the value the schema expects.
 * Strings that do not fit are passed through unchanged, so validation
 * reports them with the expected form.
 */
function parseEnvValue(field: ConfigField, text: string): unknown {
  if (text === "") return null;
  return parseScalar(field.kind, text, field.itemKind);
}

function parseScalar(
  kind: ConfigField["kind"],
  text: string,
  itemKind?: ConfigField["kind"],
): unknown {
  switch (kind) {
    case "number":
      // Decimal notation only: Number() would also take "0x1F" or "1e3".
      return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text.trim()) : text;
    case "boolean": {
      const lower = text.trim().toLowerCase();
      if (lower === "true" || lower === "1") return true;
      if (lower === "false" || lower === "0") return false;
      return text;
    }
    case "array":
      return text.split(",").map((part) => part.trim()).filter((part) => part !== "")
        .map((part) => parseScalar(itemKind ?? "string", part));
    case "json":
      try {
        return JSON.parse(text);
      } catch {
        return text; // validation reports the expected form
      }
    default:
      return text;
  }
}

/**
 * Sets a nested value, creating missing objects. A parent that holds
 * something other than an object is left alone, so validation reports it
 * instead of the override silently replacing it.
 */
function setIn(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    if (node[segment] === undefined) node[segment] = {};
    const next = node[segment];
    if (next === null || typeof next !== "object" || Array.isArray(next)) return;
    node = next as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

function getIn(target: unknown, path: readonly PropertyKey[]): unknown {
  let node = target;
  for (const segment of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}

interface IssueContext {
  fields: ConfigField[];
  raw: Record<string, unknown>;
  overrides: Record<string, string>;
  fileLabel: string;
  schema: z.ZodType;
}

function describeIssue(issue: z.core.$ZodIssue, context: IssueContext): ConfigIssue[] {
  const path = issue.path.map(String);
  if (issue.code === "unrecognized_keys") {
    const known = knownKeysAt(context.schema, issue.path);
    return issue.keys.map((name) => {
      const key = [...path, name].join(".");
      const expected = known.length > 0
        ? `expected one of: ${known.join(", ")}`
        : "no keys are accepted here";
      return {
        key,
        message: `${key} is not a known key (${expected}; from ${context.fileLabel})`,
      };
    });
  }
  const key = path.join(".");
  const field = context.fields.find((candidate) => candidate.key === key) ??
    context.fields.find((candidate) => key.startsWith(candidate.key + "."));
  const source = sourceOf(key, context);
  const value = getIn(context.raw, issue.path);
  const emptyOverride = value === null && source !== context.fileLabel;
  const got = field?.secret ? "***" : emptyOverride ? "an empty value" : formatValue(value);
  const expectation = field && field.key === key
    ? `must be ${field.form}`
    : lowerFirst(plainIssueMessage(issue));
  return [{ key, message: `${key || "(root)"} ${expectation} (got ${got}, from ${source})` }];
}

/** Lowercases only the first letter: the rest may be a pattern or a value. */
function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function sourceOf(key: string, context: IssueContext): string {
  for (let probe = key; probe !== ""; probe = probe.slice(0, Math.max(0, probe.lastIndexOf(".")))) {
    const source = context.overrides[probe];
    if (source) return source;
  }
  return context.fileLabel;
}

function formatValue(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 60 ? text.slice(0, 57) + "..." : text;
}

/** Freezes an object and everything reachable from it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
