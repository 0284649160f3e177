import { z } from "zod";
import { LOG_LEVELS } from "../telemetry/logger.ts";
import { configMeta, durationMs } from "./fields.ts";
import { LLM_CONFIG_SHAPE, priceSchema } from "../llm/config.ts";

/** Host names (RFC 1123), IPv4 and IPv6 addresses, optionally bracketed. */
const HOST_REGEXP =
  /^(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]?)$/;

/** The kernel's own sections of the config file. Plugins add theirs. */
export const KERNEL_CONFIG_SHAPE = {
  server: z.strictObject({
    host: z.string().regex(HOST_REGEXP).default("127.0.0.1").meta(configMeta({
      description:
        "Address to listen on. Anything other than a loopback address exposes the server to the network.",
      aliases: ["HOST"],
      flag: "--host",
      form: "a host name or an IP address",
    })),
    port: z.number().int().min(0).max(65535).default(8080).meta(configMeta({
      description: "TCP port to listen on; 0 picks a free port, shown in the start-up log.",
      aliases: ["PORT"],
      flag: "--port",
    })),
    shutdownGraceMs: durationMs(10_000).meta(configMeta({
      description:
        "On SIGINT/SIGTERM, how long in-flight requests may finish before plugins are stopped anyway.",
    })),
    allowedOrigins: z.array(z.url().regex(/^https?:\/\/[^/]+$/)).default([]).meta(configMeta({
      description:
        "Browser origins besides the server's own that may open a WebSocket (scheme://host[:port]).",
    })),
  }).prefault({}),
  auth: z.strictObject({
    enabled: z.boolean().default(true).meta(configMeta({
      description:
        "When false every request acts as a built-in local administrator; allowed only on a loopback address.",
    })),
    setupToken: z.string().min(32).nullable().default(null).meta(configMeta({
      description:
        "First-run setup token for headless installs (≥ 32 characters, never printed); null prints a fresh one at each start while setup is open.",
      secret: true,
      aliases: ["SYNTH_SETUP_TOKEN"],
    })),
    password: z.strictObject({
      scryptLogN: z.number().int().min(14).max(20).default(17).meta(configMeta({
        description:
          "scrypt cost: N = 2^scryptLogN (r 8, p 1). Hashes made with less are upgraded at the next login.",
      })),
    }).prefault({}),
    lockout: z.strictObject({
      maxFailures: z.number().int().min(1).default(5).meta(configMeta({
        description: "Consecutive failed logins for one username within the window that lock it.",
      })),
      maxFailuresPerIp: z.number().int().min(1).default(20).meta(configMeta({
        description: "Failed logins from one client address within the window that lock it.",
      })),
      windowSeconds: z.number().int().min(1).default(900).meta(configMeta({
        description: "Window in which failures are counted.",
      })),
      lockSeconds: z.number().int().min(1).default(900).meta(configMeta({
        description: "How long a locked username or address is refused (429 AUTH_LOCKED).",
      })),
    }).prefault({}),
    jwt: z.strictObject({
      secret: z.string().min(32).nullable().default(null).meta(configMeta({
        description:
          "HS256 signing secret (≥ 32 bytes); null generates one into <dataDir>/secrets/jwt.key (mode 0600).",
        secret: true,
      })),
      previousSecret: z.string().min(32).nullable().default(null).meta(configMeta({
        description: "A former secret that still verifies (never signs) during a rotation.",
        secret: true,
      })),
      accessTtlSeconds: z.number().int().min(30).max(86_400).default(900).meta(configMeta({
        description: "Lifetime of an access token.",
      })),
    }).prefault({}),
    refresh: z.strictObject({
      ttlSeconds: z.number().int().min(60).default(604_800).meta(configMeta({
        description: "A refresh token is valid this long after each rotation.",
      })),
      familyMaxSeconds: z.number().int().min(60).default(2_592_000).meta(configMeta({
        description:
          "A login's refresh tokens end this long after the login, however often rotated.",
      })),
    }).prefault({}),
    maxApiKeysPerUser: z.number().int().min(1).default(20).meta(configMeta({
      description: "API keys one user may hold.",
    })),
  }).prefault({}),
  ws: z.strictObject({
    maxConnections: z.number().int().min(1).default(5_000).meta(configMeta({
      description: "Open WebSockets at most; more are closed with 1013.",
    })),
    maxConnectionsPerUser: z.number().int().min(1).default(20).meta(configMeta({
      description: "Open WebSockets per user at most; more are closed with 1013.",
    })),
    authTimeoutMs: durationMs(5_000, { min: 1 }).meta(configMeta({
      description: "A socket that sends no valid hello within this time is closed with 4401.",
    })),
    replayMessages: z.number().int().min(1).default(1_000).meta(configMeta({
      description: "Messages a session keeps (at most 1 MiB) for a client that reconnects.",
    })),
    resumeWindowSeconds: z.number().int().min(1).default(60).meta(configMeta({
      description: "How long a dropped session waits for its client to resume it.",
    })),
    maxQueueBytes: z.number().int().min(1_024).default(1_048_576).meta(configMeta({
      description:
        "Unsent bytes per socket at most: above half, state deltas merge; at the cap the socket is closed (4408).",
    })),
    maxMessageBytes: z.number().int().min(1_024).default(65_536).meta(configMeta({
      description: "Largest client message; larger ones close the socket with 1009.",
    })),
    messagesPerMinute: z.number().int().min(1).default(60).meta(configMeta({
      description: "Client messages per minute per socket; the excess is refused (RATE_LIMITED).",
    })),
  }).prefault({}),
  dataDir: z.string().min(1).default("./data").meta(configMeta({
    description:
      "Directory for the database, secrets, logs and backups; created with mode 0700. The start task may only write inside ./data.",
    flag: "--data-dir",
  })),
  db: z.strictObject({
    busyTimeoutMs: durationMs(5_000, { min: 1 }).meta(configMeta({
      description: "How long a write waits for another connection's lock before failing.",
    })),
    migrateOnStart: z.boolean().default(true).meta(configMeta({
      description:
        "Apply pending migrations at start; when false, /health/ready fails until `deno task migrate up` ran.",
    })),
  }).prefault({}),
  log: z.strictObject({
    level: z.enum(LOG_LEVELS).default("info").meta(configMeta({
      description: "Lowest level written to the log.",
    })),
    format: z.enum(["json", "pretty"]).default("json").meta(configMeta({
      description: "`json` writes one JSON object per line; `pretty` is for a terminal.",
      flag: "--dev",
      form: 'one of "json", "pretty" (the flag --dev sets "pretty")',
    })),
  }).prefault({}),
  llm: z.strictObject(LLM_CONFIG_SHAPE).prefault({}),
  mind: z.strictObject({
    profile: z.string().regex(/^[a-z][a-z0-9_-]*$/).default("empathetic").meta(configMeta({
      description:
        "Personality profile id (built-ins: empathetic, analytical, creative, focused); takes effect at restart.",
    })),
    profilesDir: z.string().min(1).default("./profiles").meta(configMeta({
      description: "Directory of extra profile YAML files (relative to the working directory).",
    })),
    hookTimeoutMs: durationMs(2_000, { min: 1 }).meta(configMeta({
      description:
        "A turn hook slower than this is dropped for the turn (the plugin is listed as degraded).",
    })),
    prompt: z.strictObject({
      maxSystemTokens: z.number().int().min(100).default(3_000).meta(configMeta({
        description: "System prompt budget; the lowest-priority fragments are dropped first.",
      })),
      historyTokens: z.number().int().min(100).default(6_000).meta(configMeta({
        description: "History sent with each reply, trimmed oldest first.",
      })),
    }).prefault({}),
    budget: z.strictObject({
      dailyTokens: z.number().int().min(0).nullable().default(null).meta(configMeta({
        description:
          "Background tokens per day across modules (the reply is never limited); null = unlimited.",
      })),
    }).prefault({}),
    prices: z.record(z.string().min(1), priceSchema).default({}).meta(configMeta({
      description:
        "Model → {in, out, cachedIn?} USD per million tokens; costs of unknown models show as unknown.",
    })),
  }).prefault({}),
  chat: z.strictObject({
    maxQueue: z.number().int().min(0).default(4).meta(configMeta({
      description: "Turns that may wait behind the running one; more get 429 CHAT_QUEUE_FULL.",
    })),
  }).prefault({}),
  health: z.strictObject({
    readyRequires: z.array(z.string().min(1)).nullable().default(null).meta(configMeta({
      description:
        "Checks that gate `/health/ready`; null means every registered check. Other checks still show in `/health`.",
    })),
    checkTimeoutMs: durationMs(2_000, { min: 1 }).meta(configMeta({
      description: "A health check that takes longer than this fails with a timeout.",
    })),
    llmProbeIntervalSeconds: z.number().int().min(1).default(30).meta(configMeta({
      description: "How often the language model providers are probed (no tokens spent).",
    })),
  }).prefault({}),
  pluginHost: z.strictObject({
    setupTimeoutMs: durationMs(10_000, { min: 1 }).meta(configMeta({
      description: "A plugin whose setup takes longer than this stops start-up.",
    })),
    startTimeoutMs: durationMs(60_000, { min: 1 }).meta(configMeta({
      description: "A plugin whose start takes longer than this stops start-up.",
    })),
    stopTimeoutMs: durationMs(10_000, { min: 1 }).meta(configMeta({
      description: "On shutdown, a plugin whose stop takes longer than this is skipped and logged.",
    })),
  }).prefault({}),
};

/** Names no plugin may use as its id, because the kernel owns those sections. */
export const RESERVED_SECTIONS: readonly string[] = [
  ...Object.keys(KERNEL_CONFIG_SHAPE),
  "plugins",
];

const kernelSchema = z.strictObject(KERNEL_CONFIG_SHAPE);

/** The resolved kernel configuration. */
export type KernelConfig = z.output<typeof kernelSchema>;

/** The resolved configuration: kernel sections plus one per plugin id. */
export type ResolvedConfig = Readonly<KernelConfig> & Readonly<Record<string, unknown>>;

/** A plugin's id and config schema, all {@link buildConfigSchema} needs. */
export interface ConfigSection {
  id: string;
  schema?: z.ZodType | undefined;
}

/**
 * Builds the strict schema of the whole config file from the kernel's
 * sections and each plugin's. A plugin without a schema gets an empty
 * section, so any key under its id is reported as unknown.
 *
 * @throws {TypeError} When a plugin id collides with a kernel section.
 */
export function buildConfigSchema(
  sections: readonly ConfigSection[] = [],
): z.ZodType<ResolvedConfig> {
  const shape: Record<string, z.ZodType> = { ...KERNEL_CONFIG_SHAPE };
  for (const section of sections) {
    if (RESERVED_SECTIONS.includes(section.id)) {
      throw new TypeError(
        `Cannot register the config section of plugin "${section.id}": the kernel owns that section name`,
      );
    }
    const schema = section.schema ?? z.strictObject({});
    shape[section.id] = (schema as z.ZodType<unknown, object>).prefault({});
  }
  return z.strictObject(shape) as unknown as z.ZodType<ResolvedConfig>;
}
