/**
 * Project templates (spec/projects.md §10): the built-in YAML files next to
 * this module plus the operator's `templateDirs`, read once at start-up and
 * checked with zod and the plan checks. A bad file stops start-up with a
 * message naming the file and the field.
 *
 * @module
 */
import { AppError, ConfigurationError, errorMessage } from "@synth/kernel";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { type PlanLimits, validatePlan } from "./plan_validate.ts";
import { TEMPLATE, type Template } from "./types.ts";

/** The folder of the built-in templates. */
export const BUILT_IN_TEMPLATES_DIR: URL = new URL("./templates/", import.meta.url);

/** Built-ins list in the order of spec/projects.md §10; other files follow by name. */
const BUILT_IN_ORDER = [
  "web-app",
  "api",
  "data-analysis",
  "ml-model",
  "refactor",
  "bug-fix",
  "new-feature",
  "documentation",
  "test-suite",
  "cli-tool",
];

const TEMPLATE_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** The plan checks' task limits for templates (§5: 4–12). */
export const TEMPLATE_LIMITS: PlanLimits = { minTasks: 4, maxTasks: 12 };

/** At most this many schema issues are quoted per file. */
const MAX_QUOTED_ISSUES = 5;

/** Options for {@link loadTemplates}. */
export interface LoadTemplatesOptions {
  /** Task-count limits of the plan checks. @default {@link TEMPLATE_LIMITS} */
  limits?: PlanLimits | undefined;
}

interface TemplateFile {
  /** The path shown in messages. */
  display: string;
  /** What `Deno.readTextFile` takes. */
  location: string | URL;
}

function invalid(file: string, detail: string, cause?: unknown): ConfigurationError {
  return new ConfigurationError(
    "GDIL_TEMPLATE_INVALID",
    `${file}: ${detail}. Fix or remove the file and start again`,
    { cause },
  );
}

function builtInRank(name: string): number {
  const rank = BUILT_IN_ORDER.indexOf(name.slice(0, -extname(name).length));
  return rank === -1 ? BUILT_IN_ORDER.length : rank;
}

async function listFolder(dir: string | URL): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!TEMPLATE_EXTENSIONS.has(extname(entry.name).toLowerCase())) continue;
    if (entry.isFile) names.push(entry.name);
    else if (entry.isSymlink) {
      const target = await Deno.stat(
        typeof dir === "string" ? join(dir, entry.name) : new URL(entry.name, dir),
      );
      if (target.isFile) names.push(entry.name);
    }
  }
  return names.sort();
}

async function builtInFiles(): Promise<TemplateFile[]> {
  const names = await listFolder(BUILT_IN_TEMPLATES_DIR);
  names.sort((a, b) => builtInRank(a) - builtInRank(b));
  return names.map((name) => {
    const location = new URL(name, BUILT_IN_TEMPLATES_DIR);
    return { display: fileURLToPath(location), location };
  });
}

async function userFiles(dir: string): Promise<TemplateFile[]> {
  let names: string[];
  try {
    names = await listFolder(dir);
  } catch (error) {
    throw new ConfigurationError(
      "GDIL_TEMPLATE_DIR_UNREADABLE",
      `gdil.templateDirs: cannot read the folder "${dir}" (${
        errorMessage(error)
      }). Create it or remove it from the list`,
      { cause: error },
    );
  }
  return names.map((name) => {
    const path = join(dir, name);
    return { display: path, location: path };
  });
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.length === 0 ? "(root)" : path.map(String).join(".");
}

/** Reads, parses and checks one file; throws naming the file and the field. */
async function readTemplateFile(
  file: TemplateFile,
  limits: PlanLimits = TEMPLATE_LIMITS,
): Promise<Template> {
  let data: unknown;
  try {
    const text = await Deno.readTextFile(file.location);
    data = extname(file.display).toLowerCase() === ".json" ? JSON.parse(text) : parse(text);
  } catch (error) {
    throw invalid(file.display, `cannot be read or parsed (${errorMessage(error)})`, error);
  }
  const result = TEMPLATE.safeParse(data);
  if (!result.success) {
    const issues = result.error.issues.slice(0, MAX_QUOTED_ISSUES)
      .map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
    throw invalid(file.display, issues.join("; "));
  }
  const planIssues = validatePlan(result.data.tasks, limits);
  if (planIssues.length > 0) {
    throw invalid(file.display, planIssues.slice(0, MAX_QUOTED_ISSUES).join("; "));
  }
  return result.data;
}

/**
 * Loads the built-in templates, then the `*.yaml`, `*.yml` and `*.json`
 * files of each folder in `dirs` (in name order). Every file must pass the
 * TEMPLATE schema and the plan checks, and ids must be unique across all
 * folders.
 *
 * @throws {ConfigurationError} `GDIL_TEMPLATE_INVALID` naming the file and
 * the field path (e.g. `templates/foo.yaml: tasks.2.dependsOn: unknown key
 * 'x'`), or `GDIL_TEMPLATE_DIR_UNREADABLE` for a folder that cannot be read.
 */
export async function loadTemplates(
  dirs: readonly string[],
  options: LoadTemplatesOptions = {},
): Promise<Template[]> {
  const limits = options.limits ?? TEMPLATE_LIMITS;
  const files = await builtInFiles();
  for (const dir of dirs) files.push(...await userFiles(dir));
  const templates: Template[] = [];
  const sources = new Map<string, string>();
  for (const file of files) {
    const template = await readTemplateFile(file, limits);
    const earlier = sources.get(template.id);
    if (earlier !== undefined) {
      throw invalid(
        file.display,
        `id: duplicate template id '${template.id}' (already defined by ${earlier})`,
      );
    }
    sources.set(template.id, file.display);
    templates.push(template);
  }
  return templates;
}

/**
 * Finds a template by reference: the exact id; else the id or name equal
 * ignoring case; else a unique case-insensitive prefix of an id or name.
 *
 * @throws {AppError} 404 `NOT_FOUND` listing the ids (`details.ids`); 409
 * `GDIL_AMBIGUOUS_TEMPLATE` with `details.candidates` `{id, name}[]`.
 */
export function findTemplate(templates: readonly Template[], ref: string): Template {
  const wanted = ref.trim();
  const exact = templates.find((template) => template.id === wanted);
  if (exact) return exact;
  const lower = wanted.toLowerCase();
  let matches: Template[] = [];
  if (lower !== "") {
    matches = templates.filter((template) =>
      template.id.toLowerCase() === lower || template.name.toLowerCase() === lower
    );
    if (matches.length === 0) {
      matches = templates.filter((template) =>
        template.id.toLowerCase().startsWith(lower) || template.name.toLowerCase().startsWith(lower)
      );
    }
  }
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) {
    const ids = templates.map((template) => template.id);
    throw new AppError(
      "NOT_FOUND",
      `No template matches '${wanted}'; available: ${ids.join(", ") || "none"}`,
      { status: 404, details: { ids } },
    );
  }
  const candidates = matches.map(({ id, name }) => ({ id, name }));
  throw new AppError(
    "GDIL_AMBIGUOUS_TEMPLATE",
    `Ambiguous template '${wanted}': matches ${
      candidates.map(({ id, name }) => `${id} (${name})`).join(", ")
    }`,
    { status: 409, details: { candidates } },
  );
}

/** A template as the API shows it (snake_case keys, spec/server.md §2; the files keep camelCase). */
export interface TemplateView {
  id: string;
  name: string;
  category: string;
  description: string;
  tags: string[];
  suggested_brief: string;
  end_transformation: string;
  questions: string[];
  tasks: Array<{
    key: string;
    name: string;
    description: string;
    priority: number;
    depends_on: string[];
    estimate: { iterations: number; hours: number };
    milestone: boolean;
  }>;
}

/** The wire form of a template (`GET /api/templates/{id}`, `/template <id>`). */
export function templateView(template: Template): TemplateView {
  return {
    id: template.id,
    name: template.name,
    category: template.category,
    description: template.description,
    tags: template.tags,
    suggested_brief: template.suggestedBrief,
    end_transformation: template.endTransformation,
    questions: template.questions,
    tasks: template.tasks.map((task) => ({
      key: task.key,
      name: task.name,
      description: task.description,
      priority: task.priority,
      depends_on: task.dependsOn,
      estimate: { iterations: task.estimate.iterations, hours: task.estimate.hours },
      milestone: task.milestone,
    })),
  };
}
