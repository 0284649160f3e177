import { z } from "zod";
import { configMeta, durationMs } from "../config/fields.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** The built-in tools, in the order `/tools` lists them. */
export const BUILTIN_TOOL_NAMES = [
  "calculator",
  "timer",
  "web_search",
  "http_fetch",
  "code_execute",
  "file_read",
  "file_write",
  "file_list",
  "shell_run",
  "json_parse",
] as const;

/** An operator-added `shell_run` binary (spec/tools.md §6). */
const shellBinary = z.strictObject({
  /** Flags without a value. */
  options: z.array(z.string().regex(/^--?[A-Za-z0-9][A-Za-z0-9-]*$/)).default([]),
  /** Options that take a value: integer, text or a `+N` count. */
  valueOptions: z.record(
    z.string().regex(/^--?[A-Za-z0-9][A-Za-z0-9-]*$/),
    z.enum(["integer", "signed_integer", "text"]),
  ).default({}),
  /** What the operands are. */
  operands: z.strictObject({
    kind: z.enum(["none", "paths", "text"]).default("paths"),
    min: z.number().int().min(0).default(0),
    max: z.number().int().min(0).max(32).default(32),
  }).prefault({}),
});

/** The operator's shape of a `shell_run` binary. */
export type ShellBinaryConfig = z.output<typeof shellBinary>;

/** `tools.*` (spec/tools.md §10). */
export const TOOLS_CONFIG_SHAPE = {
  enabled: z.array(z.string().regex(/^[a-z][a-z0-9_]{0,47}$/)).default([...BUILTIN_TOOL_NAMES])
    .meta(configMeta({
      description: "Built-in tools offered to the model and to `/tool`; others are disabled.",
    })),
  maxRoundsPerTurn: z.number().int().min(0).max(16).default(4).meta(configMeta({
    description: "Rounds of tool calls per turn; then the model must answer without tools.",
  })),
  maxCallsPerRound: z.number().int().min(1).max(32).default(8).meta(configMeta({
    description: "Tool calls run per round; later calls of the round are refused.",
  })),
  maxResultChars: z.number().int().min(200).max(100_000).default(8_000).meta(configMeta({
    description: "A tool result is cut to this many characters before the model sees it.",
  })),
  approval: z.strictObject({
    threshold: z.enum(["safe", "network", "write", "execute"]).default("write").meta(configMeta({
      description: "Calls of tools at or above this risk wait for an operator's decision.",
    })),
    timeoutMs: durationMs(120_000, { min: 1 }).meta(configMeta({
      description: "An undecided approval expires as denied after this long.",
    })),
    require: z.array(z.string()).default([]).meta(configMeta({
      description: "Tools that always need approval, whatever their risk.",
    })),
    allowUnattendedExecute: z.boolean().default(false).meta(configMeta({
      description: "Allows `requires_approval: false` on `execute` tools (code, shell).",
    })),
  }).prefault({}),
  sandbox: z.strictObject({
    memoryLimitBytes: z.number().int().min(768 * MiB).default(2 * GiB).meta(configMeta({
      description:
        "RLIMIT_DATA of a sandbox process (prlimit); Deno needs about 512 MiB and a Worker more, so under 1.5 GiB tools fail to start.",
    })),
    heapMiB: z.number().int().min(16).max(4096).default(128).meta(configMeta({
      description: "V8 heap limit of a sandbox process in MiB.",
      // The generated name splits "MiB"; the spelling people type works too.
      aliases: ["SYNTH_TOOLS_SANDBOX_HEAP_MIB"],
    })),
    maxConcurrent: z.number().int().min(1).max(64).default(4).meta(configMeta({
      description: "Sandbox processes running calls at once.",
    })),
    queueLimit: z.number().int().min(0).default(32).meta(configMeta({
      description: "Calls that may wait for a free slot; more get TOOLS_BUSY.",
    })),
    queueTimeoutMs: durationMs(30_000, { min: 1 }).meta(configMeta({
      description: "A call waiting longer than this for a slot gets TOOLS_BUSY.",
    })),
    maxFrameBytes: z.number().int().min(64 * 1024).max(64 * MiB).default(4 * MiB).meta(configMeta({
      description: "Largest message a sandbox process may send.",
    })),
    pool: z.strictObject({
      size: z.number().int().min(0).max(16).default(2).meta(configMeta({
        description:
          "Warm sandbox processes for calculator, json_parse and timer (a fresh Worker per call); 0 turns the pool off.",
      })),
      maxCallsPerProcess: z.number().int().min(1).default(100).meta(configMeta({
        description: "A pooled process is replaced after this many calls.",
      })),
      idleMs: durationMs(60_000, { min: 1 }).meta(configMeta({
        description: "A pooled process idle this long is stopped.",
      })),
    }).prefault({}),
    prlimitPath: z.string().min(1).nullable().default("/usr/bin/prlimit").meta(configMeta({
      description: "prlimit caps each sandbox process's memory and CPU; null runs without a cap.",
    })),
    denoPath: z.string().min(1).nullable().default(null).meta(configMeta({
      description:
        "The deno executable sandbox processes run; null = the server's own (under deno run), or the binary itself in sandbox mode (compiled).",
    })),
    selfCommand: z.array(z.string().min(1)).min(1).nullable().default(null).meta(configMeta({
      description:
        "How to start this program in sandbox mode when there is no deno to run (null: the compiled binary's own path and `__sandbox`); for wrappers and tests.",
    })),
  }).prefault({}),
  workspace: z.strictObject({
    quotaBytes: z.number().int().min(0).default(100 * MiB).meta(configMeta({
      description: "Bytes a user's tool workspace may hold; file_write checks it first.",
    })),
  }).prefault({}),
  shell: z.strictObject({
    searchPath: z.string().min(1).default("/usr/bin:/bin").meta(configMeta({
      description: "Where shell_run looks up its binaries at start-up.",
    })),
    binaries: z.record(z.string().regex(/^[a-z][a-z0-9_.-]{0,31}$/), shellBinary).default({})
      .meta(configMeta({
        description: "Extra shell_run binaries with their allowed options and operands.",
      })),
  }).prefault({}),
  http: z.strictObject({
    allowedPorts: z.array(z.number().int().min(1).max(65_535)).default([80, 443]).meta(
      configMeta({ description: "Ports http_fetch may connect to." }),
    ),
    maxBytes: z.number().int().min(1024).max(64 * MiB).default(2 * MiB).meta(configMeta({
      description: "A fetched body is cut after this many bytes.",
    })),
    maxRedirects: z.number().int().min(0).max(20).default(5).meta(configMeta({
      description: "Redirects http_fetch follows, each checked again.",
    })),
    timeoutMs: durationMs(15_000, { min: 1 }).meta(configMeta({
      description: "Time limit of one http_fetch hop.",
    })),
    allowPrivate: z.array(z.string().min(1)).default([]).meta(configMeta({
      description:
        "CIDR ranges, names or host:port entries http_fetch may reach although private or loopback.",
    })),
    ipv6: z.boolean().default(false).meta(configMeta({
      description: "Allows IPv6 destinations (checked by address only).",
    })),
    allowDowngrade: z.boolean().default(false).meta(configMeta({
      description: "Follows redirects from HTTPS to plain HTTP.",
    })),
  }).prefault({}),
  web_search: z.strictObject({
    provider: z.enum(["duckduckgo", "searxng", "brave"]).default("duckduckgo").meta(configMeta({
      description: "Search engine of web_search.",
    })),
    baseUrl: z.string().url().nullable().default(null).meta(configMeta({
      description: "SearXNG base URL.",
    })),
    apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).nullable().default(null).meta(configMeta({
      description: "Environment variable holding the Brave Search API key.",
    })),
    maxResults: z.number().int().min(1).max(10).default(5).meta(configMeta({
      description: "Default number of search results.",
    })),
  }).prefault({}),
  records: z.strictObject({
    retentionDays: z.number().int().min(1).default(90).meta(configMeta({
      description: "Tool runs older than this are deleted.",
    })),
  }).prefault({}),
};

const toolsSchema = z.strictObject(TOOLS_CONFIG_SHAPE);

/** The resolved `tools` section. */
export type ToolsConfig = z.output<typeof toolsSchema>;

/** The `tools` section from a partial input, defaults filled (tests). */
export function toolsConfig(input: Record<string, unknown> = {}): ToolsConfig {
  return toolsSchema.parse(input);
}
