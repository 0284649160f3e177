import { z } from "zod";
import { MAX_TIMER_MS } from "../clock.ts";

/** What the config layer reads from a schema's `.meta()`. */
export interface ConfigMeta {
  /** One sentence for `docs/configuration.md`. */
  description?: string;
  /** The value is a secret: redacted when printed, `<VAR>_FILE` accepted. */
  secret?: boolean;
  /** Extra environment variable names, checked before the `SYNTH_…` one. */
  aliases?: string[];
  /** Command-line flag of `serve` that sets this key. */
  flag?: string;
  /** Human wording of the expected form, when the derived one is unclear. */
  form?: string;
}

/** Type-checks a {@link ConfigMeta} literal for `.meta()`. */
export function configMeta(meta: ConfigMeta): ConfigMeta & Record<string, unknown> {
  return { ...meta };
}

/** The shape of a leaf value, as far as parsing env values is concerned. */
export type FieldKind =
  | "string"
  | "number"
  | "boolean"
  | "enum"
  | "array"
  | "json";

/** A leaf of the config schema: one settable key. */
export interface ConfigField {
  /** Path segments, e.g. `["server", "port"]`. */
  path: string[];
  /** Dotted path, e.g. `server.port`. */
  key: string;
  kind: FieldKind;
  /** Kind of the items when `kind` is `array`. */
  itemKind?: FieldKind;
  /** The value used when nothing sets the key (`undefined` if none). */
  defaultValue: unknown;
  nullable: boolean;
  optional: boolean;
  /** Readable expected form: `an integer from 0 to 65535`. */
  form: string;
  description: string;
  secret: boolean;
  /** `SYNTH_` + the path in upper snake case. */
  env: string;
  aliases: string[];
  flag?: string;
}

// zod 4 exposes its definition objects at run time; these are the parts we read.
interface SchemaDef {
  type: string;
  innerType?: AnySchema;
  defaultValue?: unknown;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
  catchall?: AnySchema;
  in?: AnySchema;
  values?: unknown[];
}
interface AnySchema {
  def: SchemaDef;
  meta(): Record<string, unknown> | undefined;
  minValue?: number | null;
  maxValue?: number | null;
  isInt?: boolean;
  minLength?: number | null;
  options?: readonly unknown[];
}

interface Unwrapped {
  base: AnySchema;
  meta: ConfigMeta;
  defaultValue: unknown;
  nullable: boolean;
  optional: boolean;
}

function unwrap(schema: AnySchema): Unwrapped {
  let current = schema;
  let meta: ConfigMeta = {};
  let defaultValue: unknown = undefined;
  let nullable = false;
  let optional = false;
  for (;;) {
    meta = { ...(current.meta() as ConfigMeta | undefined), ...meta };
    const def = current.def;
    if (def.type === "default" || def.type === "prefault") {
      if (defaultValue === undefined) defaultValue = def.defaultValue;
      optional = true;
    } else if (def.type === "optional") {
      optional = true;
    } else if (def.type === "nullable") {
      nullable = true;
    } else if (def.type === "readonly") {
      // readonly only changes the output type
    } else if (def.type === "pipe" && def.in) {
      current = def.in;
      continue;
    } else {
      return { base: current, meta, defaultValue, nullable, optional };
    }
    current = def.innerType as AnySchema;
  }
}

function kindOf(schema: AnySchema): FieldKind {
  switch (schema.def.type) {
    case "string":
      return "string";
    case "number":
    case "int":
      return "number";
    case "boolean":
      return "boolean";
    case "enum":
    case "literal":
      return "enum";
    case "array":
      // Lists of objects are given as JSON; lists of words comma-separated.
      return schema.def.element &&
          ["object", "record"].includes(unwrap(schema.def.element).base.def.type)
        ? "json"
        : "array";
    default:
      return "json";
  }
}

/** Converts `trustedProxies` to `TRUSTED_PROXIES`. */
export function upperSnake(segment: string): string {
  return segment
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .toUpperCase();
}

/** The environment variable of a config path. */
export function envNameOf(path: readonly string[]): string {
  return "SYNTH_" + path.map(upperSnake).join("_");
}

/** True for a strict zod object, whose nested keys are config keys. */
function isStrictObject(schema: AnySchema): boolean {
  return schema.def.type === "object" && schema.def.catchall?.def.type === "never";
}

/**
 * Lists every settable key of a config schema, depth first in declaration
 * order. Strict objects are walked into; anything else is a leaf.
 *
 * @throws {TypeError} When an object in the schema accepts unknown keys, or
 * two keys map to the same environment variable.
 */
export function listConfigFields(schema: z.ZodType): ConfigField[] {
  const fields: ConfigField[] = [];
  const seenEnv = new Map<string, string>();

  function visit(node: AnySchema, path: string[]) {
    const unwrapped = unwrap(node);
    const { base } = unwrapped;
    if (base.def.type === "object") {
      if (!isStrictObject(base)) {
        throw new TypeError(
          `Cannot use the config schema at "${
            path.join(".") || "(root)"
          }": it accepts unknown keys; declare it with z.strictObject()`,
        );
      }
      for (const [name, child] of Object.entries(base.def.shape ?? {})) {
        visit(child, [...path, name]);
      }
      return;
    }
    const key = path.join(".");
    const env = envNameOf(path);
    const clash = seenEnv.get(env);
    if (clash !== undefined) {
      throw new TypeError(
        `Cannot map config keys "${clash}" and "${key}" to the environment: both become ${env}`,
      );
    }
    seenEnv.set(env, key);
    const kind = kindOf(base);
    const field: ConfigField = {
      path,
      key,
      kind,
      defaultValue: unwrapped.defaultValue,
      nullable: unwrapped.nullable,
      optional: unwrapped.optional,
      form: unwrapped.meta.form ?? describeForm(base, unwrapped.nullable),
      description: unwrapped.meta.description ?? "",
      secret: unwrapped.meta.secret === true,
      env,
      aliases: unwrapped.meta.aliases ?? [],
    };
    if (kind === "array" && base.def.element) {
      field.itemKind = kindOf(unwrap(base.def.element).base);
    }
    if (unwrapped.meta.flag) field.flag = unwrapped.meta.flag;
    fields.push(field);
  }

  visit(schema as unknown as AnySchema, []);
  return fields;
}

/** Describes, in words, what a schema accepts. */
function describeForm(schema: AnySchema, nullable: boolean): string {
  const form = describeBase(schema);
  return nullable ? `${form}, or null` : form;
}

function describeBase(schema: AnySchema): string {
  switch (schema.def.type) {
    case "number":
    case "int": {
      const noun = schema.isInt ? "integer" : "number";
      const min = finite(schema.minValue);
      const max = finite(schema.maxValue);
      if (min !== undefined && max !== undefined) return `${article(noun)} from ${min} to ${max}`;
      if (min === 1 && schema.isInt) return "a positive integer";
      if (min !== undefined) return `${article(noun)} ≥ ${min}`;
      if (max !== undefined) return `${article(noun)} ≤ ${max}`;
      return article(noun);
    }
    case "string": {
      const min = schema.minLength ?? 0;
      return min > 1
        ? `a string of at least ${min} characters`
        : min === 1
        ? "a non-empty string"
        : "a string";
    }
    case "boolean":
      return "true or false";
    case "enum":
      return `one of ${(schema.options ?? []).map((v) => JSON.stringify(v)).join(", ")}`;
    case "literal":
      return (schema.def.values ?? []).map((v) => JSON.stringify(v)).join(" or ");
    case "array": {
      const item = schema.def.element ? describeBase(unwrap(schema.def.element).base) : "value";
      return `a list of items, each ${item}`;
    }
    case "record":
      return "an object";
    default:
      return `a value of type ${schema.def.type}`;
  }
}

function finite(value: number | null | undefined): number | undefined {
  return typeof value === "number" && Number.isFinite(value) &&
      Math.abs(value) < Number.MAX_SAFE_INTEGER
    ? value
    : undefined;
}

function article(noun: string): string {
  return /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`;
}

/** Lists the keys a strict object at `path` accepts, for error messages. */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node = unwrap(schema as unknown as AnySchema).base;
  for (const segment of path) {
    // An item of a list (`plugins.0`) has the keys of the list's element.
    if (node.def.type === "array" && node.def.element && /^\d+$/.test(String(segment))) {
      node = unwrap(node.def.element).base;
      continue;
    }
    const child = node.def.shape?.[String(segment)];
    if (!child) return [];
    node = unwrap(child).base;
  }
  return Object.keys(node.def.shape ?? {});
}

/**
 * A delay in milliseconds, capped where timers stop working.
 *
 * @example A grace period of ten seconds by default
 * ```ts
 * import { durationMs } from "./fields.ts";
 * const graceMs = durationMs(10_000);
 * ```
 */
export function durationMs(
  defaultMs: number,
  options: { min?: number } = {},
): z.ZodDefault<z.ZodNumber> {
  return z.number().int().min(options.min ?? 0).max(MAX_TIMER_MS).default(defaultMs);
}
