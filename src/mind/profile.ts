/**
 * Personality profiles (spec/mind.md §12): YAML files validated strictly at
 * every level, `extends` deep-merging onto a parent (arrays replace).
 * Built-ins live in `profiles/` beside the application; `mind.profilesDir`
 * adds more.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigurationError } from "../errors.ts";
import { plainIssueMessage } from "../issue_text.ts";

const unit = z.number().min(-1).max(1);
const fraction = z.number().min(0).max(1);
const positive = z.number().positive();
const count = z.number().int().min(1);

/** A `[lo, hi]` pair with lo < hi. */
const range = (inner: z.ZodNumber = z.number()) =>
  z.tuple([inner, inner]).refine(([lo, hi]) => lo < hi, {
    message: "the first bound must be below the second",
  });

const pad = z.strictObject({ p: unit, a: unit, d: unit });

/** A case-insensitive regular expression given as text. */
const regexText = z.string().min(1).refine((source) => {
  try {
    new RegExp(source, "i");
    return true;
  } catch {
    return false;
  }
}, { message: "not a valid regular expression" });

const styleRule = z.strictObject({
  dim: z.enum(["p", "a", "d"]),
  min: unit.optional(),
  max: unit.optional(),
  instruction: z.string().min(1).max(300),
}).refine((rule) => rule.min !== undefined || rule.max !== undefined, {
  message: "a style rule needs min or max",
}).refine((rule) => rule.min === undefined || rule.max === undefined || rule.min < rule.max, {
  message: "min must be below max",
});

const moduleBudget = z.strictObject({
  perTurn: z.number().int().min(0).optional(),
  perHour: z.number().int().min(0).optional(),
  perDay: z.number().int().min(0).optional(),
});

/** A complete profile, after `extends` is resolved. */
export const profileSchema = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9_-]*$/),
  extends: z.string().optional(),
  description: z.string().min(1).max(300),
  tone: z.string().min(1).max(120),
  identity: z.strictObject({
    name: z.string().min(1).max(60),
    narrative: z.string().min(1).max(4_000),
    values: z.array(z.string().min(1).max(200)).min(1).max(10),
  }),
  appraisal: z.strictObject({
    sentimentScale: positive,
    sentimentOverrides: z.record(z.string().min(1), z.number().min(-5).max(5)),
    patterns: z.strictObject({
      correction: z.array(regexText),
      confirmation: z.array(regexText),
      clarification: z.array(regexText),
      thanks: z.array(regexText),
    }),
    requestVerbs: z.array(z.string().min(1)),
  }),
  affect: z.strictObject({
    baseline: pad,
    halfLifeMinutes: z.strictObject({ p: positive, a: positive, d: positive }),
    impulseMax: z.number().positive().max(1),
    turnCap: z.number().positive().max(2),
    neutralRadius: fraction,
    temperatureGain: z.number().min(0).max(1),
    gains: z.strictObject({
      sentiment: fraction,
      sentimentArousal: fraction,
      feedback: fraction,
      correction: fraction,
      surprise: fraction,
      forecastHit: fraction,
      uncertainty: fraction,
      tool: fraction,
      milestone: fraction,
      flow: fraction,
      drift: fraction,
      reflection: fraction,
      social: fraction,
    }),
    style: z.array(styleRule),
  }),
  generation: z.strictObject({
    temperature: z.number().min(0).max(2),
    temperatureBounds: range(z.number().min(0).max(2)),
    maxTokens: count,
    maxTokensBounds: range(z.number().int().min(1)),
  }).refine(
    (value) =>
      value.temperature >= value.temperatureBounds[0] &&
      value.temperature <= value.temperatureBounds[1],
    {
      message: "temperature must lie within temperatureBounds",
    },
  ).refine(
    (value) =>
      value.maxTokens >= value.maxTokensBounds[0] && value.maxTokens <= value.maxTokensBounds[1],
    {
      message: "maxTokens must lie within maxTokensBounds",
    },
  ),
  dreaming: z.strictObject({
    count: z.number().int().min(1).max(10),
    temperature: z.number().min(0).max(2),
    contextMessages: count,
    prefetchTop: z.number().int().min(0),
    prefetchMinProbability: fraction,
    prefetchMinSimilarity: fraction,
    hitThreshold: z.number().min(0).lt(1),
    promptSurpriseMin: fraction,
    lexicalWeight: fraction,
    accuracyWindow: count,
    maxAgeHours: positive,
  }),
  assurance: z.strictObject({
    verbalizedConfidence: z.boolean(),
    clarifyThreshold: z.number().min(0).lt(1),
    clarifyCooldownTurns: z.number().int().min(0),
    caveatThreshold: fraction,
    concernThreshold: z.number().min(0).lt(1),
    concernTtlTurns: count,
    maxOpenConcerns: count,
    hedgeSaturationPer100: positive,
    absoluteSaturationPer100: positive,
    minCalibrationSamples: count,
    weights: z.strictObject({
      hedge: z.number().min(0),
      risk: z.number().min(0),
      unsupported: z.number().min(0),
      verbal: z.number().min(0),
      surprise: z.number().min(0),
    }),
    lexicon: z.strictObject({
      hedges: z.array(z.string().min(1)),
      absolutes: z.array(z.string().min(1)),
      vague: z.array(z.string().min(1)),
    }),
    caveatText: z.string().min(1).max(300),
  }),
  reflection: z.strictObject({
    intervalTurns: count,
    distressWindow: count,
    distressThreshold: unit,
    cooldownTurns: z.number().int().min(0),
    instructionTurns: count,
    contextTurns: count,
  }),
  purpose: z.strictObject({
    maxWords: count,
    minWords: count,
    maxDropFraction: fraction,
    driftMargin: fraction,
    driftFloor: unit,
    sessionIdleMinutes: positive,
    sessionSummaries: z.boolean(),
    growthMilestoneDelta: fraction,
  }).refine((value) => value.minWords < value.maxWords, {
    message: "minWords must be below maxWords",
  }),
  calibration: z.strictObject({
    band: range(fraction),
    alpha: z.number().positive().max(1),
    relax: fraction,
    ackPattern: regexText,
    temperature: z.strictObject({
      gain: z.number().min(0),
      bounds: range(z.number().min(-2).max(2)),
    })
      .refine((value) => value.bounds[0] <= 0 && value.bounds[1] >= 0, {
        message: "the bounds must contain 0 (the default offset)",
      }),
    verbosity: z.strictObject({ gain: z.number().min(0) }),
    questionRate: z.strictObject({
      base: fraction,
      gain: z.number().min(0),
      bounds: range(fraction),
    })
      .refine((value) => value.base >= value.bounds[0] && value.base <= value.bounds[1], {
        message: "base must lie within bounds",
      }),
  }),
  budgets: z.strictObject({
    dreaming: moduleBudget,
    reflection: moduleBudget,
    purpose: moduleBudget,
    social: moduleBudget,
  }),
  background: z.strictObject({
    idleStopMinutes: positive,
    runWhileIdle: z.boolean(),
    tickSeconds: positive,
    maxTickSeconds: positive,
  }).refine((value) => value.tickSeconds <= value.maxTickSeconds, {
    message: "tickSeconds must not exceed maxTickSeconds",
  }),
  social: z.strictObject({
    idleMinutes: positive,
    minIntervalMinutes: positive,
    injectCulture: z.boolean(),
  }),
});

/** A validated profile. */
export type Profile = z.output<typeof profileSchema>;

/** The directory of the built-in profiles. */
export const BUILTIN_PROFILES_DIR: string = new URL("../../profiles/", import.meta.url).pathname;

/** Merges `child` onto `parent`: objects recursively, arrays and scalars replace. */
export function deepMerge(parent: unknown, child: unknown): unknown {
  if (
    parent === null || child === null || typeof parent !== "object" || typeof child !== "object" ||
    Array.isArray(parent) || Array.isArray(child)
  ) {
    return child === undefined ? parent : child;
  }
  const out: Record<string, unknown> = { ...parent as Record<string, unknown> };
  for (const [key, value] of Object.entries(child)) {
    out[key] = deepMerge(out[key], value);
  }
  return out;
}

/** Reads every `*.yaml` profile of the given directories (later ones win). */
async function readProfileFiles(
  dirs: readonly string[],
): Promise<Map<string, { raw: unknown; file: string }>> {
  const files = new Map<string, { raw: unknown; file: string }>();
  const seen = new Set<string>();
  for (const dir of dirs) {
    const absolute = resolve(dir);
    if (seen.has(absolute)) continue;
    seen.add(absolute);
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(absolute));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound && dir !== BUILTIN_PROFILES_DIR) continue;
      throw new ConfigurationError(
        "MIND_PROFILE_DIR_UNREADABLE",
        `Cannot start: the profiles directory ${absolute} cannot be read (${
          (error as Error).message
        })`,
      );
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (!entry.isFile || !/\.ya?ml$/.test(entry.name)) continue;
      const file = join(absolute, entry.name);
      let raw: unknown;
      try {
        raw = parseYaml(await Deno.readTextFile(file));
      } catch (error) {
        throw new ConfigurationError(
          "MIND_PROFILE_INVALID",
          `Cannot start: the profile ${file} is not valid YAML: ${(error as Error).message}`,
        );
      }
      const id = (raw as { id?: unknown } | null)?.id;
      if (typeof id !== "string") {
        throw new ConfigurationError(
          "MIND_PROFILE_INVALID",
          `Cannot start: the profile ${file} has no id`,
        );
      }
      files.set(id, { raw, file });
    }
  }
  return files;
}

/**
 * Resolves one profile by id (following `extends`) and validates it.
 *
 * @throws {ConfigurationError} `MIND_PROFILE_UNKNOWN` naming the known ids;
 * `MIND_PROFILE_INVALID` naming the file and the key path.
 */
export function resolveProfile(
  id: string,
  files: ReadonlyMap<string, { raw: unknown; file: string }>,
): Profile {
  const chain: string[] = [];
  let merged: unknown = {};
  let current: string | undefined = id;
  const layers: unknown[] = [];
  while (current !== undefined) {
    if (chain.includes(current)) {
      throw new ConfigurationError(
        "MIND_PROFILE_INVALID",
        `Cannot start: profile "${id}" extends itself (${[...chain, current].join(" → ")})`,
      );
    }
    chain.push(current);
    const found = files.get(current);
    if (!found) {
      throw new ConfigurationError(
        "MIND_PROFILE_UNKNOWN",
        `Cannot start: no profile "${current}"${
          current === id ? "" : ` (extended by "${chain.at(-2)}")`
        }; known: ${[...files.keys()].sort().join(", ")}`,
      );
    }
    layers.unshift(found.raw);
    const parent: unknown = (found.raw as { extends?: unknown }).extends;
    current = typeof parent === "string" ? parent : undefined;
  }
  for (const layer of layers) merged = deepMerge(merged, layer);
  (merged as Record<string, unknown>).id = id;
  delete (merged as Record<string, unknown>).extends;
  const result = profileSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const path = issue.path.map(String).join(".");
    const unknown = issue.code === "unrecognized_keys"
      ? `${path ? path + "." : ""}${
        (issue as { keys: string[] }).keys.join(", ")
      } is not a known key`
      : `${path || "(root)"}: ${plainIssueMessage(issue)}`;
    throw new ConfigurationError(
      "MIND_PROFILE_INVALID",
      `Cannot start: profile "${id}" (${files.get(id)!.file}) is invalid: ${unknown}`,
    );
  }
  return result.data;
}

/** Loads the built-in profiles plus those in `extraDir`, and resolves `id`. */
export async function loadProfile(
  id: string,
  options: { extraDir?: string; builtinDir?: string } = {},
): Promise<{ profile: Profile; available: string[] }> {
  const files = await readProfileFiles([
    options.builtinDir ?? BUILTIN_PROFILES_DIR,
    ...(options.extraDir ? [options.extraDir] : []),
  ]);
  return { profile: resolveProfile(id, files), available: [...files.keys()].sort() };
}

/** Every profile of the directories, resolved (tests and `GET /api/profiles`). */
export async function loadAllProfiles(
  options: { extraDir?: string; builtinDir?: string } = {},
): Promise<Profile[]> {
  const files = await readProfileFiles([
    options.builtinDir ?? BUILTIN_PROFILES_DIR,
    ...(options.extraDir ? [options.extraDir] : []),
  ]);
  return [...files.keys()].sort().map((id) => resolveProfile(id, files));
}
