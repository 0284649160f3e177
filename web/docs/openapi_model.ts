/**
 * The API reference's reading of `/openapi.json` (pure): the document's
 * info and security schemes, its operations grouped by tag, `$ref`
 * resolution and the filter. Schemas become trees in `schema_tree.ts`.
 *
 * @module
 */

/** A JSON Schema (OpenAPI 3.1), as it arrives. */
export type JsonSchema = Record<string, unknown>;

/** One parameter of an operation. */
export interface ApiParameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required: boolean;
  description: string;
  schema: JsonSchema | null;
}

/** One documented response. */
export interface ApiResponse {
  status: string;
  description: string;
  /** The first media type, when any. */
  mediaType: string | null;
  schema: JsonSchema | null;
}

/** One operation (method and path). */
export interface ApiOperation {
  /** `GET /health/live`. */
  key: string;
  method: string;
  /** OpenAPI style, `{param}`. */
  path: string;
  summary: string;
  description: string;
  tags: string[];
  /** `x-min-role`. */
  minRole: string | null;
  /** `x-rate-tier`. */
  rateTier: string | null;
  /** `security: []`: no credential needed. */
  noCredential: boolean;
  deprecated: boolean;
  parameters: ApiParameter[];
  body: { required: boolean; mediaType: string; schema: JsonSchema | null } | null;
  responses: ApiResponse[];
}

/** The operations of one tag, in document order. */
export interface ApiGroup {
  tag: string;
  description: string;
  operations: ApiOperation[];
}

/** What the reference shows. */
export interface ApiDocument {
  openapi: string;
  title: string;
  version: string;
  description: string;
  /** Security schemes as `name: what it is`. */
  security: Array<{ name: string; text: string }>;
  groups: ApiGroup[];
  /** `components.schemas`, for `$ref`. */
  schemas: Record<string, JsonSchema>;
  /** The whole document, for `$ref` outside the schemas. */
  raw: Record<string, unknown>;
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const LOCATIONS = new Set(["path", "query", "header", "cookie"]);

/** Whether `value` is a JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** Follows a local `$ref` (`#/a/b`) in `root`; anything else is returned as it is. */
export function resolveRef(root: Record<string, unknown>, value: unknown): unknown {
  let current = value;
  for (let hops = 0; hops < 10 && isObject(current) && typeof current.$ref === "string"; hops++) {
    const ref = current.$ref;
    if (!ref.startsWith("#/")) return current;
    let target: unknown = root;
    for (const part of ref.slice(2).split("/")) {
      const key = part.replaceAll("~1", "/").replaceAll("~0", "~");
      target = isObject(target) ? target[key] : undefined;
    }
    if (target === undefined) return current;
    current = target;
  }
  return current;
}

function firstContent(
  content: unknown,
): { mediaType: string; schema: JsonSchema | null } | null {
  if (!isObject(content)) return null;
  const entries = Object.entries(content);
  const json = entries.find(([type]) => type.includes("json")) ?? entries[0];
  if (!json) return null;
  const media = json[1];
  return {
    mediaType: json[0],
    schema: isObject(media) && isObject(media.schema) ? media.schema : null,
  };
}

function readParameters(root: Record<string, unknown>, list: unknown): ApiParameter[] {
  if (!Array.isArray(list)) return [];
  const out: ApiParameter[] = [];
  for (const item of list) {
    const param = resolveRef(root, item);
    if (!isObject(param) || typeof param.name !== "string") continue;
    const where = String(param.in);
    if (!LOCATIONS.has(where)) continue;
    out.push({
      name: param.name,
      in: where as ApiParameter["in"],
      required: param.required === true || where === "path",
      description: text(param.description),
      schema: isObject(param.schema) ? param.schema : null,
    });
  }
  return out;
}

/**
 * Reads an OpenAPI 3.x document. Throws a `TypeError` when `raw` is not one
 * (no `openapi` version or no `paths`).
 */
export function readDocument(raw: unknown): ApiDocument {
  if (!isObject(raw) || typeof raw.openapi !== "string" || !isObject(raw.paths)) {
    throw new TypeError("Not an OpenAPI document: it lacks `openapi` or `paths`");
  }
  const info = isObject(raw.info) ? raw.info : {};
  const components = isObject(raw.components) ? raw.components : {};
  const schemas = isObject(components.schemas)
    ? components.schemas as Record<string, JsonSchema>
    : {};
  const security = Object.entries(
    isObject(components.securitySchemes) ? components.securitySchemes : {},
  )
    .map(([name, scheme]) => ({ name, text: describeSecurity(scheme) }));
  const groups = new Map<string, ApiGroup>();
  const tagList = Array.isArray(raw.tags) ? raw.tags : [];
  for (const tag of tagList) {
    if (isObject(tag) && typeof tag.name === "string") {
      groups.set(tag.name, { tag: tag.name, description: text(tag.description), operations: [] });
    }
  }
  for (const [path, item] of Object.entries(raw.paths)) {
    if (!isObject(item)) continue;
    const shared = readParameters(raw, item.parameters);
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op)) continue;
      const own = readParameters(raw, op.parameters);
      const parameters = [
        ...shared.filter((param) =>
          !own.some((other) => other.name === param.name && other.in === param.in)
        ),
        ...own,
      ];
      const requestBody = resolveRef(raw, op.requestBody);
      const content = isObject(requestBody) ? firstContent(requestBody.content) : null;
      const responses = Object.entries(isObject(op.responses) ? op.responses : {}).map(
        ([status, value]): ApiResponse => {
          const response = resolveRef(raw, value);
          const media = isObject(response) ? firstContent(response.content) : null;
          return {
            status,
            description: isObject(response) ? text(response.description) : "",
            mediaType: media?.mediaType ?? null,
            schema: media?.schema ?? null,
          };
        },
      );
      const tags = Array.isArray(op.tags) && op.tags.length > 0
        ? op.tags.filter((tag): tag is string => typeof tag === "string")
        : ["other"];
      const operation: ApiOperation = {
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        summary: text(op.summary),
        description: text(op.description),
        tags,
        minRole: typeof op["x-min-role"] === "string" ? op["x-min-role"] : null,
        rateTier: typeof op["x-rate-tier"] === "string" ? op["x-rate-tier"] : null,
        noCredential: Array.isArray(op.security) && op.security.length === 0,
        deprecated: op.deprecated === true,
        parameters,
        body: content && isObject(requestBody)
          ? { required: requestBody.required === true, ...content }
          : null,
        responses,
      };
      const tag = tags[0]!;
      let group = groups.get(tag);
      if (!group) {
        group = { tag, description: "", operations: [] };
        groups.set(tag, group);
      }
      group.operations.push(operation);
    }
  }
  return {
    openapi: raw.openapi,
    title: text(info.title) || "API",
    version: text(info.version),
    description: text(info.description),
    security,
    groups: [...groups.values()].filter((group) => group.operations.length > 0),
    schemas,
    raw,
  };
}

function describeSecurity(scheme: unknown): string {
  if (!isObject(scheme)) return "";
  const parts: string[] = [];
  if (scheme.type === "http") {
    parts.push(`HTTP ${text(scheme.scheme)}`.trim());
    if (typeof scheme.bearerFormat === "string") parts.push(`(${scheme.bearerFormat})`);
  } else if (scheme.type === "apiKey") {
    parts.push(`API key in the ${text(scheme.in)} ${text(scheme.name)}`.trim());
  } else parts.push(text(scheme.type));
  const description = text(scheme.description);
  return description ? `${parts.join(" ")}: ${description}` : parts.join(" ");
}

/** The number of operations in `groups`. */
export function countOperations(groups: readonly ApiGroup[]): number {
  return groups.reduce((sum, group) => sum + group.operations.length, 0);
}

/**
 * The groups with only the operations matching every word of `query`
 * (case-insensitive, in method, path, summary, tags, role and tier); empty
 * groups are left out. A blank query keeps everything.
 */
export function filterGroups(groups: readonly ApiGroup[], query: string): ApiGroup[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...groups];
  return groups.map((group) => ({
    ...group,
    operations: group.operations.filter((op) => {
      const haystack = [
        op.method,
        op.path,
        op.summary,
        ...op.tags,
        op.minRole ?? "",
        op.rateTier ?? "",
      ].join(" ").toLowerCase();
      return words.every((word) => haystack.includes(word));
    }),
  })).filter((group) => group.operations.length > 0);
}
