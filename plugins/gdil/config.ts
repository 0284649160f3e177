/**
 * The `gdil` config section (spec/projects.md §14).
 *
 * @module
 */
import { configMeta } from "@synth/kernel";
import { z } from "zod";

export const GDIL_CONFIG = z.strictObject({
  maxActiveProjects: z.number().int().min(1).max(50).default(5).meta(configMeta({
    description: "Projects a user may have in an active phase at once (paused ones do not count).",
  })),
  roadmap: z.strictObject({
    minTasks: z.number().int().min(1).max(12).default(4).meta(configMeta({
      description: "Fewest tasks a plan may have.",
    })),
    maxTasks: z.number().int().min(1).max(30).default(12).meta(configMeta({
      description: "Most tasks a plan may have.",
    })),
  }).prefault({}),
  iterationsPerTask: z.number().int().min(1).max(20).default(3).meta(configMeta({
    description: "Iteration budget per task, set when a plan is accepted.",
  })),
  maxIterations: z.number().int().min(1).max(1_000).nullable().default(null).meta(configMeta({
    description: "A fixed iteration budget per project; null = tasks × iterationsPerTask.",
  })),
  stall: z.strictObject({
    gainRatio: z.number().min(0).max(1).default(0.25).meta(configMeta({
      description: "An iteration gaining less than gainRatio / estimate counts as low.",
    })),
    streak: z.number().int().min(1).max(20).default(3).meta(configMeta({
      description: "Consecutive low iterations that stall a project.",
    })),
    overrunFactor: z.number().int().min(1).max(20).default(3).meta(configMeta({
      description: "A task still open after overrunFactor × its estimate stalls the project.",
    })),
  }).prefault({}),
  llm: z.strictObject({
    role: z.enum(["reply", "background"]).default("background").meta(configMeta({
      description: "The model role project steps use.",
    })),
    timeoutMs: z.number().int().min(5_000).max(600_000).default(120_000).meta(configMeta({
      description: "A project step's model call is abandoned after this long.",
    })),
  }).prefault({}),
  execute: z.strictObject({
    contextTokens: z.number().int().min(1_000).max(64_000).default(8_000).meta(configMeta({
      description: "Tokens of context an execute call may use.",
    })),
    toolRounds: z.number().int().min(0).max(32).default(8).meta(configMeta({
      description: "Tool rounds an execute call may use (0: none).",
    })),
    tools: z.array(z.string().regex(/^[a-z][a-z0-9_]{0,99}$/)).default([
      "file_read",
      "file_write",
      "file_list",
    ]).meta(configMeta({
      description: "Tools an execute call may use, rooted at the project's workspace.",
    })),
  }).prefault({}),
  vcs: z.strictObject({
    enabled: z.boolean().default(false).meta(configMeta({
      description:
        "New projects keep a git history of their workspace (POST /api/projects `vcs` wins).",
    })),
    author: z.string().regex(/^[^<>\n]{1,100} <[^<>\s]{1,200}>$/).default(
      "Synth Mind <synth-mind@localhost>",
    ).meta(
      configMeta({ description: "Author and committer of workspace commits: `Name <email>`." }),
    ),
    searchPath: z.string().min(1).default("/usr/bin:/bin").meta(configMeta({
      description: "Folders searched for the git binary (the sandbox may run that file only).",
    })),
    timeoutMs: z.number().int().min(1_000).max(300_000).default(30_000).meta(configMeta({
      description: "A git step (commit, log, rollback) is stopped after this long.",
    })),
  }).prefault({}),
  templateDirs: z.array(z.string().min(1)).default([]).meta(configMeta({
    description: "Folders with user templates (*.yaml, *.yml, *.json), read at start.",
  })),
  intent: z.strictObject({
    mode: z.enum(["rules", "rules+llm"]).default("rules").meta(configMeta({
      description:
        "How replies are classified: rules; or rules+llm, where a short reply the rules read as adjust/feedback is checked by the background model (used at confidence ≥ minConfidence).",
    })),
    minConfidence: z.number().min(0).max(1).default(0.8).meta(configMeta({
      description: "rules+llm: the model's intent is used at this confidence or more.",
    })),
    maxTokens: z.number().int().min(1).max(200).default(20).meta(configMeta({
      description: "rules+llm: replies of at most this many words are checked by the model.",
    })),
  }).prefault({}),
});

/** The resolved section. */
export type GdilConfig = z.output<typeof GDIL_CONFIG>;
