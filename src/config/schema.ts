import { z } from "zod";
import { LOG_LEVELS } from "../telemetry/logger.ts";
import { configMeta, durationMs } from "./fields.ts";
import { LLM_CONFIG_SHAPE, priceSchema } from "../llm/config.ts";
import { parseCidr } from "../security/ip.ts";
import { TOOLS_CONFIG_SHAPE } from "../tools/config.ts";
import { PLUGIN_ENTRY } from "../plugin/external/config.ts";

/** An IPv4/IPv6 address or CIDR range with no host bits set. */
const cidrText = z.string().min(2).max(60).refine((text) => {
  try {
    parseCidr(text);
    return true;
  } catch {
    return false;
  }
}, { message: "must be an IP address or a CIDR range without host bits, e.g. 10.0.0.0/8" });

/** Host names (RFC 1123), IPv4 and IPv6 addresses, optionally bracketed. */
const HOST_REGEXP =
  /^(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]?)$/;

/** A rate-limit tier: `limit` requests per `windowSeconds`. */
function tier(limit: number, description: string) {
  return z.strictObject({
    limit: z.number().int().min(1).default(limit).meta(configMeta({ description })),
    windowSeconds: z.number().int().min(1).max(86_400).default(60).meta(configMeta({
      description: "Window of the limit in seconds.",
    })),
  }).prefault({});
}

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
        "On SIGINT/SIGTERM, how long in-flight requests and the running turn may finish before the turn is cancelled and plugins are stopped.",
    })),
    allowedOrigins: z.array(z.url().regex(/^https?:\/\/[^/]+$/)).default([]).meta(configMeta({
      description:
        "Browser origins besides the server's own that may open a WebSocket (scheme://host[:port]).",
    })),
    requestTimeoutMs: durationMs(30_000, { min: 1 }).meta(configMeta({
      description:
        "How long a request may take to be answered; then 504 TIMEOUT while its work goes on. Streams count until they start; the blocking POST /api/chat (chat.blockingTimeoutMs) and the memory import (bounded by its body size) are exempt.",
    })),
    maxBodyBytes: z.number().int().min(1_024).default(1_048_576).meta(configMeta({
      description:
        "Largest request body in bytes (the NDJSON memory import may be 50 times larger); more is 413.",
    })),
    trustedProxies: z.array(cidrText).default([]).meta(configMeta({
      description:
        "CIDRs of reverse proxies whose forwarding header names the client; from anyone else the header is ignored.",
    })),
    proxyHeader: z.enum(["x-forwarded-for", "forwarded"]).default("x-forwarded-for").meta(
      configMeta({ description: "Which header a trusted proxy sets." }),
    ),
    publicUrl: z.url().regex(/^https?:\/\/[^/]+\/?$/).nullable().default(null).meta(configMeta({
      form: "an http(s) URL with no path (https://host[:port]), or null",
      description:
        "The address users reach the server at (scheme://host[:port]); its host is accepted in Host headers.",
    })),
    allowedHosts: z.array(z.string().min(1).max(253)).default([]).meta(configMeta({
      description:
        "Host header values accepted besides loopback names and publicUrl's host (DNS-rebinding guard).",
    })),
    tls: z.strictObject({
      certFile: z.string().min(1).nullable().default(null).meta(configMeta({
        description:
          "PEM certificate chain; with keyFile the server speaks only HTTPS (TLS 1.2/1.3).",
        aliases: ["SYNTH_TLS_CERT_FILE"],
      })),
      keyFile: z.string().min(1).nullable().default(null).meta(configMeta({
        description: "PEM private key of certFile.",
        aliases: ["SYNTH_TLS_KEY_FILE"],
      })),
      hstsMaxAge: z.number().int().min(0).default(15_552_000).meta(configMeta({
        description: "Strict-Transport-Security max-age in seconds, sent only over TLS.",
      })),
    }).prefault({}),
    cors: z.strictObject({
      origins: z.array(z.url().regex(/^https?:\/\/[^/]+$/)).default([]).meta(configMeta({
        description:
          "Exact origins allowed to call the API from a browser (CORS); empty keeps CORS off. '*' is refused.",
      })),
    }).prefault({}),
  }).prefault({}),
  rateLimit: z.strictObject({
    enabled: z.boolean().default(true).meta(configMeta({
      description: "Limit requests per user (or client address) and tier.",
    })),
    tiers: z.strictObject({
      auth: tier(5, "Sign-in, setup, refresh and own password changes, per client address."),
      chat: tier(
        20,
        "Chat messages and slash commands (POST /api/chat, thread turns, WebSocket chat.send), " +
          "reflect, generate, project creation and input, and tool runs, per user.",
      ),
      api: tier(120, "Every other /api route and /openapi.json, per user (else client address)."),
      ws: tier(
        60,
        "Client WebSocket messages, per connection (applies even when rateLimit.enabled is false).",
      ),
      ws_connect: tier(10, "WebSocket upgrades, per client address."),
    }).prefault({}),
  }).prefault({}),
  firewall: z.strictObject({
    mode: z.enum(["off", "allowlist", "denylist", "whitelist", "blacklist"]).default("off")
      .transform((mode) =>
        mode === "whitelist" ? "allowlist" : mode === "blacklist" ? "denylist" : mode
      ).meta(configMeta({
        description:
          "off, allowlist (only listed addresses pass) or denylist (listed addresses are refused); the legacy names whitelist/blacklist are accepted.",
        form: 'one of "off", "allowlist", "denylist"',
      })),
    rules: z.array(z.strictObject({
      list: z.enum(["allow", "deny"]),
      cidr: cidrText,
      note: z.string().max(200).optional(),
    })).default([]).meta(configMeta({
      description:
        "Rules from the config ({list, cidr, note?}); shown as source config and not deletable through the API.",
    })),
    alwaysAllow: z.array(cidrText).default(["127.0.0.0/8", "::1/128"]).meta(
      configMeta({
        description:
          "CIDRs that always pass the firewall (by default loopback, so you cannot lock yourself out locally).",
      }),
    ),
  }).prefault({}),
  metrics: z.strictObject({
    public: z.boolean().default(false).meta(configMeta({
      description:
        "Serve /metrics to anyone; otherwise it needs metrics.token or a viewer credential.",
    })),
    token: z.string().min(16).nullable().default(null).meta(configMeta({
      description: "Bearer token a Prometheus scraper sends for /metrics (≥ 16 characters).",
      secret: true,
    })),
  }).prefault({}),
  accessLog: z.strictObject({
    file: z.string().min(1).nullable().default("logs/access.log").meta(configMeta({
      description: "Access log file, relative to the data directory; null writes none.",
    })),
    stdout: z.boolean().default(false).meta(configMeta({
      description: "Also write access log lines to standard output.",
    })),
    maxBytes: z.number().int().min(1_024).default(10_485_760).meta(configMeta({
      description: "Size at which the file rotates to .1, .2 …",
    })),
    maxFiles: z.number().int().min(1).max(100).default(5).meta(configMeta({
      description: "Rotated files kept.",
    })),
    excludePaths: z.array(z.string().startsWith("/")).default([
      "/health/live",
      "/health/ready",
      "/metrics",
    ]).meta(configMeta({ description: "Paths not logged." })),
    ringSize: z.number().int().min(10).max(100_000).default(2_000).meta(configMeta({
      description: "Recent lines kept in memory for GET /api/accesslog.",
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
        "Apply pending migrations at start; when false, start-up stops (exit 78) while any are pending: run `deno task migrate up` (or the binary's `migrate up`, e.g. in a Kubernetes init container) first.",
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
    stateHistoryDays: z.number().int().min(1).max(3_650).default(30).meta(configMeta({
      description: "Days of affect history kept for /api/state/history and the Mind page's charts.",
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
  tools: z.strictObject(TOOLS_CONFIG_SHAPE).prefault({}),
  chat: z.strictObject({
    maxQueue: z.number().int().min(0).default(4).meta(configMeta({
      description: "Turns that may wait behind the running one; more get 429 CHAT_QUEUE_FULL.",
    })),
    maxQueuePerUser: z.number().int().min(1).nullable().default(null).meta(configMeta({
      description:
        "Of those, how many one user's turns may take (at most chat.maxQueue), so that one user cannot fill the queue; more get 429 CHAT_QUEUE_FULL. null: one fewer than chat.maxQueue (at least 1).",
    })),
    blockingTimeoutMs: durationMs(180_000, { min: 1 }).meta(configMeta({
      description:
        "How long a blocking POST /api/chat waits for its turn; then 504 TURN_TIMEOUT, and the turn goes on (follow it at events_url).",
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
    minFreeDiskBytes: z.number().int().min(0).default(512 * 1024 * 1024).meta(configMeta({
      description:
        "The `disk` check fails when the data directory's file system has less free space.",
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
    autoPrepare: z.boolean().default(true).meta(configMeta({
      description:
        "Bundle third-party plugins at start-up (or restart) when their bundle is missing or their local source changed since (deno task plugins:prepare does it ahead).",
    })),
    maxConcurrentCalls: z.number().int().min(1).max(64).default(4).meta(configMeta({
      description: "Tool calls a third-party plugin's process serves at once.",
    })),
    fragmentDeadlineMs: z.number().int().min(1).max(10_000).default(150).meta(configMeta({
      description: "How long a turn waits for third-party plugins' prompt notes.",
    })),
    fragmentTokens: z.number().int().min(1).max(4_000).default(300).meta(configMeta({
      description: "Prompt-note tokens kept per third-party plugin.",
    })),
    livenessTimeoutMs: z.number().int().min(100).max(600_000).default(10_000).meta(configMeta({
      description:
        "Every minute each third-party plugin must answer a check within this long; one stuck in its code (a loop in an event handler) is killed and restarted as after a crash.",
    })),
  }).prefault({}),
  plugins: z.array(PLUGIN_ENTRY).max(64).superRefine((entries, ctx) => {
    const first = new Map<string, number>();
    entries.forEach((entry, index) => {
      const earlier = first.get(entry.id);
      if (earlier === undefined) first.set(entry.id, index);
      else {
        ctx.addIssue({
          code: "custom",
          path: [index, "id"],
          message: `is already the id of plugins.${earlier}: each plugin needs its own id`,
        });
      }
    });
  }).default([]).meta(configMeta({
    description:
      "Third-party plugins: {id, from, permissions, config, enabled, trustFragments} (docs/plugins.md).",
  })),
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
