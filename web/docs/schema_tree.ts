/**
 * Schemas of the API reference as trees of plain nodes (pure), which
 * `<sm-docs-schema>` renders with text bindings only; an example value
 * from a schema, to start a request body from; a parameter's type in a few
 * words.
 *
 * @module
 */
import { isObject, type JsonSchema, resolveRef } from "./openapi_model.ts";

/** One node of a schema tree. */
export interface SchemaNode {
  /** The property name, `items`, `additional keys` or a variant number; null at the root. */
  label: string | null;
  /** `string`, `integer | null`, `array`, `object`, `one of`, `any`… */
  type: string;
  /** The component it came from (`ToolRun`), when a `$ref`. */
  ref: string | null;
  required: boolean;
  /** Description, enum values, format, default, bounds… as short texts. */
  notes: string[];
  children: SchemaNode[];
  /** A `$ref` already open above this node: not expanded again. */
  cycle: boolean;
}

const MAX_DEPTH = 12;
const UNIONS = [["oneOf", "one of"], ["anyOf", "any of"], ["allOf", "all of"]] as const;

function typeOf(schema: JsonSchema): string {
  const type = schema.type;
  if (Array.isArray(type)) return type.map(String).join(" | ");
  if (typeof type === "string") return type;
  if ("const" in schema) return "constant";
  if (Array.isArray(schema.oneOf)) return "one of";
  if (Array.isArray(schema.anyOf)) return "any of";
  if (Array.isArray(schema.allOf)) return "all of";
  if (isObject(schema.properties)) return "object";
  if (schema.items !== undefined) return "array";
  if (Array.isArray(schema.enum)) return "enum";
  return "any";
}

function notesOf(schema: JsonSchema): string[] {
  const notes: string[] = [];
  const add = (label: string, key: string) => {
    if (schema[key] !== undefined) notes.push(`${label} ${JSON.stringify(schema[key])}`);
  };
  if (typeof schema.title === "string") notes.push(schema.title);
  if (typeof schema.description === "string") notes.push(schema.description);
  if (Array.isArray(schema.enum)) {
    notes.push(`one of ${schema.enum.map((value) => JSON.stringify(value)).join(", ")}`);
  }
  if ("const" in schema) notes.push(`always ${JSON.stringify(schema.const)}`);
  if (typeof schema.format === "string") notes.push(`format ${schema.format}`);
  add("default", "default");
  add("minimum", "minimum");
  add("maximum", "maximum");
  add("above", "exclusiveMinimum");
  add("below", "exclusiveMaximum");
  add("at least characters:", "minLength");
  add("at most characters:", "maxLength");
  add("pattern", "pattern");
  add("at least items:", "minItems");
  add("at most items:", "maxItems");
  add("example", "example");
  if (schema.nullable === true) notes.push("nullable");
  if (schema.deprecated === true) notes.push("deprecated");
  if (schema.readOnly === true) notes.push("read-only");
  if (schema.writeOnly === true) notes.push("write-only");
  if (schema.additionalProperties === false && isObject(schema.properties)) {
    notes.push("no other keys");
  }
  return notes;
}

/**
 * A schema as a tree: objects list their properties (required first in
 * document order is kept as written), arrays their items, unions their
 * variants; `$ref`s to `components.schemas` are followed, and one already
 * open above is shown once, not expanded again.
 */
export function schemaTree(
  schema: JsonSchema | null,
  root: Record<string, unknown>,
  options: { label?: string | null; required?: boolean } = {},
): SchemaNode {
  return walk(schema ?? {}, root, options.label ?? null, options.required ?? false, [], 0);
}

function walk(
  input: unknown,
  root: Record<string, unknown>,
  label: string | null,
  required: boolean,
  open: readonly string[],
  depth: number,
): SchemaNode {
  let schema: JsonSchema = isObject(input) ? input : {};
  let ref: string | null = null;
  if (typeof schema.$ref === "string") {
    ref = schema.$ref.split("/").at(-1) ?? schema.$ref;
    if (open.includes(schema.$ref)) {
      return {
        label,
        type: "object",
        ref,
        required,
        notes: ["(shown above)"],
        children: [],
        cycle: true,
      };
    }
    const target = resolveRef(root, schema);
    open = [...open, schema.$ref];
    // Sibling keywords of a $ref (3.1) add to the target.
    const { $ref: _ref, ...siblings } = schema;
    schema = { ...(isObject(target) ? target : {}), ...siblings };
  }
  const node: SchemaNode = {
    label,
    type: typeOf(schema),
    ref,
    required,
    notes: notesOf(schema),
    children: [],
    cycle: false,
  };
  if (depth >= MAX_DEPTH) {
    node.notes.push("(nested too deep to show)");
    return node;
  }
  const next = (value: unknown, name: string | null, isRequired: boolean) =>
    walk(value, root, name, isRequired, open, depth + 1);
  if (isObject(schema.properties)) {
    const requiredKeys = Array.isArray(schema.required) ? schema.required : [];
    for (const [key, value] of Object.entries(schema.properties)) {
      node.children.push(next(value, key, requiredKeys.includes(key)));
    }
  }
  if (isObject(schema.additionalProperties)) {
    if (Object.keys(schema.additionalProperties).length === 0) {
      node.notes.push("any other keys");
    } else node.children.push(next(schema.additionalProperties, "(other keys)", false));
  }
  if (isObject(schema.items)) node.children.push(next(schema.items, "items", false));
  for (const [keyword, word] of UNIONS) {
    const variants = schema[keyword];
    if (!Array.isArray(variants)) continue;
    if (!node.type.includes(word)) node.notes.push(`${word} ${variants.length} variants below`);
    variants.forEach((variant, i) => node.children.push(next(variant, `variant ${i + 1}`, false)));
  }
  return node;
}

/**
 * A plausible value for `schema`, to start a request body from: default,
 * example, const or first enum value, else by type; objects get their
 * required keys and the keys with a default.
 */
export function exampleOf(
  schema: JsonSchema | null,
  root: Record<string, unknown>,
  depth = 0,
): unknown {
  const resolved = resolveRef(root, schema ?? {});
  const s: JsonSchema = isObject(resolved) ? resolved : {};
  if (depth > 8) return null;
  if (s.default !== undefined) return s.default;
  if (s.example !== undefined) return s.example;
  if (Array.isArray(s.examples) && s.examples.length > 0) return s.examples[0];
  if ("const" in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  for (const keyword of ["oneOf", "anyOf"]) {
    const variants = s[keyword];
    if (Array.isArray(variants) && variants.length > 0) {
      return exampleOf(variants[0] as JsonSchema, root, depth + 1);
    }
  }
  if (Array.isArray(s.allOf)) {
    const parts = s.allOf.map((part) => exampleOf(part as JsonSchema, root, depth + 1));
    return parts.every(isObject) ? Object.assign({}, ...parts) : parts[0] ?? null;
  }
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== "null") : s.type;
  switch (type) {
    case "string":
      return "";
    case "integer":
    case "number":
      return typeof s.minimum === "number" ? s.minimum : 0;
    case "boolean":
      return false;
    case "null":
      return null;
    case "array":
      return [];
    default: {
      if (!isObject(s.properties)) return {};
      const required = Array.isArray(s.required) ? s.required : [];
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(s.properties)) {
        const property = resolveRef(root, value);
        if (required.includes(key) || (isObject(property) && property.default !== undefined)) {
          out[key] = exampleOf(value as JsonSchema, root, depth + 1);
        }
      }
      return out;
    }
  }
}

/** `"string"`, `"integer, one of 1, 2"`: a parameter's type in a few words. */
export function shortType(schema: JsonSchema | null, root: Record<string, unknown>): string {
  const resolved = resolveRef(root, schema ?? {});
  const s: JsonSchema = isObject(resolved) ? resolved : {};
  const type = typeOf(s);
  return Array.isArray(s.enum)
    ? `${type}: ${s.enum.map((value) => JSON.stringify(value)).join(", ")}`
    : type;
}
