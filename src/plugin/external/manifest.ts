/**
 * A third-party plugin's manifest and the checks of spec/tools.md §9 steps
 * 1 and 4: the config entry (pinned version, scoped grants), then the
 * manifest the plugin reports (same id, a host range this kernel
 * satisfies, requests within the grants, tool schemas in the supported
 * JSON Schema subset).
 *
 * @module
 */
import { isAbsolute, relative, resolve } from "node:path";
// @ts-types="@types/semver"
import semver from "semver";
import { z } from "zod";
import { AppError } from "../../errors.ts";
import { TOOL_RISKS, type ToolRisk } from "../../tools/types.ts";
import type { PluginEntry } from "./config.ts";
import { plainIssueMessage } from "../../issue_text.ts";

/** The version of the plugin API (`PluginApi`, the frames); plugins name a range of it as `host`. */
export const PLUGIN_API_VERSION = "1.0.0";

const list = z.array(z.string().min(1).max(500)).max(64).optional();

/** The manifest a plugin exports. */
export const THIRD_PARTY_MANIFEST = z.object({
  id: z.string().regex(/^[a-z][a-z0-9_]{0,47}$/),
  version: z.string().refine((value) => semver.valid(value) !== null, "must be a semantic version"),
  host: z.string().min(1).max(100),
  permissions: z.object({ net: list, read: list, write: list, env: list, run: list }).partial()
    .default({}),
  tools: z.array(z.object({
    name: z.string().regex(/^[a-z][a-z0-9_]{0,47}$/),
    description: z.string().min(1).max(2_000),
    risk: z.enum(["safe", "network", "write", "execute"]),
    timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    parameters: z.record(z.string(), z.unknown()),
  })).max(32).default([]),
  events: z.array(z.enum(["turn.completed", "tool.ran", "memory.update", "tick"])).default([]),
  promptFragments: z.boolean().default(false),
});

/** A checked manifest. */
export type ThirdPartyManifest = z.output<typeof THIRD_PARTY_MANIFEST>;

/** The grant kinds of a plugin. */
export type GrantKind = "net" | "read" | "write" | "env" | "run";
const KINDS: readonly GrantKind[] = ["net", "read", "write", "env", "run"];
/** What the server keeps at the top of its data directory (ops.md §6): never a plugin's grant. */
const SERVER_ENTRIES: ReadonlySet<string> = new Set([
  "synth.db",
  "synth.db-wal",
  "synth.db-shm",
  "synth.lock",
  "secrets",
  "certs",
  "logs",
  "backups",
  "plugins",
  "projects",
  "workspaces",
  "sandbox",
]);

/**
 * The risk a plugin's tools carry at least, from what its process may do (spec/tools.md §9:
 * "approvals apply by risk"): a tool that declares itself `safe` in a process that may write
 * still asks for approval as a writer does. Reading and environment variables add nothing.
 */
export function grantsRisk(grants: Record<GrantKind, string[]>): ToolRisk {
  if (grants.run.length > 0) return "execute";
  if (grants.write.length > 0) return "write";
  if (grants.net.length > 0) return "network";
  return "safe";
}

/** The higher of two risks. */
export function higherRisk(a: ToolRisk, b: ToolRisk): ToolRisk {
  return TOOL_RISKS.indexOf(a) >= TOOL_RISKS.indexOf(b) ? a : b;
}

/** A refusal: the plugin is not loaded and `message` is its `last_error`. */
function fail(code: string, plugin: string, message: string): AppError {
  return new AppError(code, message, { status: 422, details: { plugin } });
}

const HOST_ENTRY =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * Step 1: the entry itself. Returns the grants with paths made absolute
 * (relative to `baseDir`).
 *
 * @throws {AppError} `PLUGIN_VERSION_NOT_PINNED`, `PLUGIN_GRANT_UNSCOPED`, `PLUGIN_ID_TAKEN`.
 */
export function checkEntry(
  entry: PluginEntry,
  options: {
    baseDir: string;
    takenIds: ReadonlySet<string>;
    /** A read or write grant holding it is refused (its database and secrets). */
    dataDir?: string;
  },
): Record<GrantKind, string[]> {
  const { id } = entry;
  if (options.takenIds.has(id)) {
    throw fail("PLUGIN_ID_TAKEN", id, `Cannot load plugin '${id}': the id is already in use`);
  }
  if (entry.from.startsWith("npm:")) {
    const match = /^npm:((?:@[a-z0-9._-]+\/)?[a-z0-9._-]+)@(.+)$/.exec(entry.from);
    if (!match || semver.valid(match[2]!) === null) {
      throw fail(
        "PLUGIN_VERSION_NOT_PINNED",
        id,
        `Cannot load plugin '${id}': '${entry.from}' must name an exact version, e.g. npm:${
          match?.[1] ?? "name"
        }@1.2.3`,
      );
    }
  } else if (/^[a-z]+:/.test(entry.from) && !entry.from.startsWith("file:")) {
    throw fail(
      "PLUGIN_SOURCE_UNSUPPORTED",
      id,
      `Cannot load plugin '${id}': 'from' must be a local path or npm:<name>@<version>`,
    );
  }
  const grants = {} as Record<GrantKind, string[]>;
  for (const kind of KINDS) {
    grants[kind] = (entry.permissions[kind] ?? []).map((value) => {
      const unscoped = (why: string) =>
        fail("PLUGIN_GRANT_UNSCOPED", id, `Cannot load plugin '${id}': ${kind} '${value}' ${why}`);
      if (value.includes("*")) throw unscoped("has a wildcard; name exact entries");
      switch (kind) {
        case "net":
          if (!HOST_ENTRY.test(value)) throw unscoped("is not a host or host:port");
          return value;
        case "env":
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) throw unscoped("is not a variable name");
          return value;
        case "run":
          if (!isAbsolute(value)) throw unscoped("must be an absolute path to one binary");
          return value;
        default: {
          const path = resolve(options.baseDir, value);
          if (path === "/" || path === resolve("/")) throw unscoped("is the whole file system");
          // The data directory holds the database and the secrets: neither it (nor a folder
          // holding it) nor anything of the server's in it may be granted; a folder of the
          // plugin's own inside it may (docs/plugins.md: "./data/dice").
          if (options.dataDir) {
            const data = resolve(options.dataDir);
            if (within(data, path)) {
              throw unscoped(
                "holds the data directory (the database, the secrets); grant a folder of its own",
              );
            }
            const top = within(path, data) ? relative(data, path).split(/[\\/]/)[0]! : null;
            // Its own working folder (`sandbox/plugins/<id>`, where it starts) is its to use.
            const ownFolder = within(path, resolve(data, "sandbox", "plugins", id));
            if (top !== null && !ownFolder && (SERVER_ENTRIES.has(top) || top.startsWith("."))) {
              throw unscoped(
                `is the server's own (${top} in the data directory); grant a folder of its own`,
              );
            }
          }
          return path;
        }
      }
    });
  }
  return grants;
}

const within = (path: string, root: string) => {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
};

/** Whether a net request is covered: equal host, or a host grant covering host:port. */
function netCovered(request: string, grants: readonly string[]): boolean {
  return grants.some((grant) =>
    grant === request || (!/:\d+$/.test(grant) && request.replace(/:\d+$/, "") === grant)
  );
}

/**
 * Step 4: the manifest the running plugin reported.
 *
 * @throws {AppError} `PLUGIN_INVALID_MANIFEST`, `PLUGIN_HOST_INCOMPATIBLE`,
 * `PLUGIN_PERMISSIONS_EXCEED_GRANTS`.
 */
export function checkManifest(
  entry: PluginEntry,
  grants: Record<GrantKind, string[]>,
  reported: unknown,
  baseDir: string,
): ThirdPartyManifest {
  const parsed = THIRD_PARTY_MANIFEST.safeParse(reported);
  const id = entry.id;
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw fail(
      "PLUGIN_INVALID_MANIFEST",
      id,
      `Cannot load plugin '${id}': manifest.${issue.path.join(".")}: ${plainIssueMessage(issue)}`,
    );
  }
  const manifest = parsed.data;
  if (manifest.id !== id) {
    throw fail(
      "PLUGIN_INVALID_MANIFEST",
      id,
      `Cannot load plugin '${id}': its manifest says id '${manifest.id}'`,
    );
  }
  if (
    semver.validRange(manifest.host) === null ||
    !semver.satisfies(PLUGIN_API_VERSION, manifest.host)
  ) {
    throw fail(
      "PLUGIN_HOST_INCOMPATIBLE",
      id,
      `Cannot load plugin '${id}': it needs plugin API ${manifest.host}, this server has ${PLUGIN_API_VERSION}`,
    );
  }
  for (const kind of KINDS) {
    for (const request of manifest.permissions[kind] ?? []) {
      const granted = grants[kind];
      const covered = kind === "net"
        ? netCovered(request, granted)
        : kind === "read" || kind === "write"
        ? granted.some((root) => within(resolve(baseDir, request), root))
        : granted.includes(request);
      if (!covered) {
        throw fail(
          "PLUGIN_PERMISSIONS_EXCEED_GRANTS",
          id,
          `Cannot load plugin '${id}': it requests ${kind} '${request}' but the config grants ${kind} [${
            granted.map((value) => `'${value}'`).join(", ")
          }]`,
        );
      }
    }
  }
  return manifest;
}

/**
 * A tool's JSON Schema as a zod object, or the reason it is outside the
 * supported subset (`PLUGIN_SCHEMA_UNSUPPORTED`).
 */
export function toolArgsSchema(
  plugin: string,
  tool: string,
  parameters: Record<string, unknown>,
): z.ZodObject {
  let schema: z.ZodType;
  try {
    if (parameters.type !== "object") throw new Error("the parameters must be an object schema");
    schema = z.fromJSONSchema(parameters as never) as z.ZodType;
  } catch (error) {
    throw fail(
      "PLUGIN_SCHEMA_UNSUPPORTED",
      plugin,
      `Cannot load plugin '${plugin}': the parameters of tool '${tool}' are not supported: ${
        (error as Error).message
      }`,
    );
  }
  if (!(schema instanceof z.ZodObject)) {
    throw fail(
      "PLUGIN_SCHEMA_UNSUPPORTED",
      plugin,
      `Cannot load plugin '${plugin}': the parameters of tool '${tool}' must describe an object`,
    );
  }
  return schema;
}
