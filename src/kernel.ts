import { dirname, join, resolve } from "node:path";
import { statfs } from "node:fs/promises";
import { LOCAL_PRINCIPAL } from "./http/principal.ts";
import { createWsServer, type WsServer } from "./ws/server.ts";
import type { Hono } from "hono";
import { createEventBus, type EventBus } from "./bus.ts";
import { afterResponse, type Clock } from "./clock.ts";
import type { ConfigOrigin, ResolvedConfig } from "./config/mod.ts";
import { createHealthRegistry, type HealthRegistry } from "./telemetry/health.ts";
import { createApp } from "./http/app.ts";
import { healthRoutes } from "./http/health_routes.ts";
import type { AppEnv } from "./http/types.ts";
import { createHookRegistry, type HookRegistry } from "./plugin/hooks.ts";
import { createPluginHost, type PluginHost } from "./plugin/host.ts";
import type { AnyPlugin } from "./plugin/types.ts";
import type { Store } from "./store/store.ts";
import { createIdFactory, type IdFactory } from "./ids.ts";
import { type Random, systemRandom } from "./random.ts";
import type { Logger } from "./telemetry/logger.ts";
import { VERSION } from "./version.ts";
import { AppError, errorMessage } from "./errors.ts";
import { type AuthService, createAuthService } from "./security/auth.ts";
import { authRoutes } from "./security/routes.ts";
import { guardRoutes } from "./security/admin_routes.ts";
import { createFirewall, type Firewall } from "./security/firewall.ts";
import { ipBucket, parseCidr } from "./security/ip.ts";
import { createRateLimiter, type RateLimiter } from "./security/rate_limit.ts";
import { type AccessLog, createAccessLog } from "./telemetry/access_log.ts";
import { createRequestTimer, isLoopbackName, type RequestTimer } from "./http/guards.ts";
import { metricsRoute } from "./http/metrics_route.ts";
import { mountOpenApi } from "./http/openapi.ts";
import { createMetrics, frameType, type Metrics } from "./telemetry/metrics.ts";
import { createSandboxProbe, type SandboxProbe } from "./sandbox/probe.ts";
import { traceLlmCall, traceTurn } from "./telemetry/tracing.ts";
import { createMindStateCache, currentSystemState } from "./mind/system_state.ts";
import { DATABASE_FILE } from "./store/store.ts";
import { firstFailure } from "./telemetry/health.ts";
import { createLlmGateway, type KernelLlm } from "./llm/gateway.ts";
import { llmRoutes } from "./llm/routes.ts";
import { type CommandDispatcher, createCommandDispatcher } from "./mind/commands.ts";
import { createMind, type Mind } from "./mind/mind.ts";
import { loadProfile } from "./mind/profile.ts";
import { mindRoutes } from "./mind/routes.ts";
import { stateHistoryRoutes } from "./mind/history.ts";
import {
  isCompiledBinary,
  materializeRunner,
  SandboxPool,
  selfExecCommand,
} from "./sandbox/host.ts";
import { createToolService, type ToolService } from "./tools/service.ts";
import { toolRoutes } from "./tools/routes.ts";
import { createDashboard } from "./http/dashboard.ts";
import { createExternalPlugins, type ExternalPlugins } from "./plugin/external/host.ts";
import { pluginRoutes } from "./plugin/external/routes.ts";
import { BUNDLE_ENV_NAMES } from "./plugin/external/bundle.ts";

const HOST_STATE_REASONS: Record<PluginHost["state"], string> = {
  created: "plugins are not set up yet",
  setting_up: "plugins are being set up",
  set_up: "plugins are set up but not started",
  starting: "plugins are starting",
  running: "plugins are running",
  stopping: "plugins are stopping",
  stopped: "plugins are stopped",
  failed: "a plugin failed to start",
};

/** Options for {@link createKernel}. */
export interface CreateKernelOptions {
  config: ResolvedConfig;
  origin: ConfigOrigin;
  plugins: readonly AnyPlugin[];
  log: Logger;
  clock: Clock;
  /** Absolute directory of the application's files. */
  appDir: string;
  /** Absolute data directory (already prepared). */
  dataDir: string;
  /** The open, migrated store; the caller registers its closing with `onClose`. */
  store: Store;
  /** Random source for plugins and ids. @default Math.random */
  random?: Random;
  /** Reads environment variables (provider keys and URLs). @default none set */
  env?: (name: string) => string | undefined;
  /** Where relative paths of the config resolve. @default Deno.cwd() */
  cwd?: string;
}

/** Releases a kernel resource on shutdown (database, sockets…). */
export type Closer = () => void | Promise<void>;

/** The assembled server, not yet listening. */
export interface Kernel {
  readonly app: Hono<AppEnv>;
  readonly host: PluginHost;
  readonly health: HealthRegistry;
  readonly hooks: HookRegistry;
  readonly bus: EventBus;
  readonly store: Store;
  /** The language model gateway. */
  readonly llm: KernelLlm;
  /** The WebSocket hub at `/ws`. */
  readonly ws: WsServer;
  /**
   * Users, logins and keys; null while `auth.enabled` is false.
   *
   * @throws {Error} Before start when auth is enabled.
   */
  readonly auth: AuthService | null;
  /** The first-run setup token made at this start, to print once; null when none. */
  readonly setupToken: string | null;
  /** The IP firewall. */
  readonly firewall: Firewall;
  /** Request counters per tier and key. */
  readonly limiter: RateLimiter;
  /** The access log. */
  readonly accessLog: AccessLog;
  /** The Prometheus registry behind `/metrics`. */
  readonly metrics: Metrics;
  /** The sandbox's health probe (the server warms it at start). */
  readonly sandbox: SandboxProbe;
  /** The tool host: registry, runs, approvals. */
  readonly tools: ToolService;
  /** Third-party plugins from the config file. */
  readonly externalPlugins: ExternalPlugins;
  /**
   * The mind (after {@link Kernel.start}).
   *
   * @throws {Error} Before start.
   */
  readonly mind: Mind;
  /** The command dispatcher shared by the terminal and `POST /api/chat`. */
  readonly commands: CommandDispatcher;
  /** Makes `<prefix>_<ULID>` ids. */
  readonly ids: IdFactory;
  readonly log: Logger;
  readonly clock: Clock;
  readonly config: ResolvedConfig;
  /** Where the config came from. */
  readonly origin: ConfigOrigin;
  /** Absolute data directory. */
  readonly dataDir: string;
  /** True once shutdown began. */
  readonly stopping: boolean;
  /** The request time limit; shutdown waits for the handlers it answered 504 for. */
  readonly requestTimer: RequestTimer;
  /** Sets up and starts every plugin. */
  start(): Promise<void>;
  /** Registers a resource to release after the plugins stop (last registered, first closed). */
  onClose(closer: Closer): void;
  /** Fails readiness and aborts the plugins' signal at once; the first step of shutdown. */
  beginStopping(): void;
  /** Stops the plugins in reverse order, then closes kernel resources. Idempotent. */
  stop(): Promise<void>;
}

/** How long the readiness check's write probe stands before the next check writes again. */
const WRITE_PROBE_FRESH_MS = 5_000;

/** The NDJSON memory import: the one body that may be larger than `server.maxBodyBytes`. */
const MEMORY_IMPORT_PATH = "/api/memories/import";

/**
 * The requests `server.requestTimeoutMs` does not limit: the blocking chat
 * waits `chat.blockingTimeoutMs` (then `504 TURN_TIMEOUT`), and the memory
 * import is bounded by its body size and answers only when done. The
 * OpenAPI document marks the same operations (`untimed`, or a 504 of their own).
 */
export const UNTIMED_REQUESTS: ReadonlySet<string> = new Set([
  "POST /api/chat",
  `POST ${MEMORY_IMPORT_PATH}`,
]);

/**
 * Wires the kernel: health registry, bus, hooks, the Hono app with the
 * health routes, and the plugin host with the kernel's own checks
 * (`config`, `plugins`).
 */
export function createKernel(options: CreateKernelOptions): Kernel {
  const { config, clock, log } = options;
  const health = createHealthRegistry({
    clock,
    timeoutMs: config.health.checkTimeoutMs,
    readyRequires: config.health.readyRequires,
  });
  const bus = createEventBus({ clock, log: log.child("bus") });
  const random = options.random ?? systemRandom;
  const ids = createIdFactory({ clock, random });
  const hooks = createHookRegistry({ log: log.child("hooks") });
  const metrics = createMetrics({
    sources: {
      version: VERSION,
      wsClients: () => ws.hub.stats().sockets,
      queueDepth: () => mind?.queueLength ?? 0,
      async memoryItems() {
        // The counts the triggers keep (migration 0017), not a count of every memory.
        const rows = await options.store.db.selectFrom("memory_counts")
          .select(["kind", (eb) => eb.fn.sum<number>("n").as("count")]).groupBy("kind")
          .execute();
        return rows.map((row) => ({ kind: row.kind, count: Number(row.count) }));
      },
      async dbSizeBytes() {
        let total = 0;
        for (const suffix of ["", "-wal"]) {
          total += await Deno.stat(join(options.dataDir, DATABASE_FILE + suffix))
            .then((info) => info.size, () => 0);
        }
        return total;
      },
      async health() {
        const checks = await health.run();
        return {
          ready: !stopping && firstFailure(checks) === null,
          checks: Object.fromEntries(Object.entries(checks).map(([name, c]) => [name, c.status])),
        };
      },
      async activeProjects() {
        // Projects in an active phase (the gdil plugin's table; 0 without it).
        const row = await options.store.db.selectFrom("gdil_projects")
          .select((eb) => eb.fn.countAll<number>().as("count"))
          .where("phase", "in", ["initialization", "planning", "iteration"]).executeTakeFirst();
        return Number(row?.count ?? 0);
      },
      approvalsPending: () => tools.pendingApprovals(),
      async budgets() {
        if (!mind) return [];
        return (await mind.governor.list()).map((budget) => ({
          module: budget.module,
          perHour: budget.limits.perHour ?? null,
          perDay: budget.limits.perDay ?? null,
          usedHour: budget.usedHour,
          usedDay: budget.usedDay,
        }));
      },
      providers() {
        const up = new Map<string, boolean>();
        for (const entry of llm.status().entries) {
          up.set(entry.provider, (up.get(entry.provider) ?? false) || entry.state === "ok");
        }
        return [...up].map(([provider, isUp]) => ({ provider, up: isUp }));
      },
      breakers: () => llm.breakerStates(),
    },
  });
  let auth: AuthService | null = null;
  let setupToken: string | null = null;
  const firewall = createFirewall({
    config: config.firewall,
    store: options.store,
    clock,
    ids,
    log: log.child("firewall"),
  });
  const limiter = createRateLimiter(config.rateLimit.tiers, clock);
  const accessLog = createAccessLog({
    file: config.accessLog.file === null ? null : resolve(options.dataDir, config.accessLog.file),
    stdout: config.accessLog.stdout,
    maxBytes: config.accessLog.maxBytes,
    maxFiles: config.accessLog.maxFiles,
    excludePaths: config.accessLog.excludePaths,
    ringSize: config.accessLog.ringSize,
    onError: (error) => log.warn("writing the access log failed", { error }),
  });
  const publicHost = config.server.publicUrl ? new URL(config.server.publicUrl).host : null;
  const allowedHosts = [
    ...config.server.allowedHosts,
    ...(publicHost ? [publicHost, publicHost.replace(/:\d+$/, "")] : []),
  ];
  const tls = config.server.tls.certFile !== null && config.server.tls.keyFile !== null;
  const requestTimer = createRequestTimer({
    clock,
    ms: config.server.requestTimeoutMs,
    exempt: UNTIMED_REQUESTS,
  });
  const dashboard = createDashboard({ distDir: join(options.appDir, "web", "dist") });
  const app = createApp({
    log,
    page: dashboard.index,
    auth: { enabled: config.auth.enabled, service: () => auth },
    guards: {
      clock,
      trustedProxies: config.server.trustedProxies.map((cidr) => parseCidr(cidr)),
      proxyHeader: config.server.proxyHeader,
      accessLog,
      host: {
        allowed: allowedHosts,
        enabled: isLoopbackName(config.server.host) || allowedHosts.length > 0,
      },
      firewall,
      hstsMaxAge: tls ? config.server.tls.hstsMaxAge : null,
      corsOrigins: config.server.cors.origins,
      limiter: config.rateLimit.enabled ? limiter : null,
      metrics,
      body: {
        maxBytes: config.server.maxBodyBytes,
        larger: { [MEMORY_IMPORT_PATH]: config.server.maxBodyBytes * 50 },
      },
      timeout: requestTimer,
    },
  });
  app.route(
    "/",
    guardRoutes({
      limiter,
      rateLimitEnabled: config.rateLimit.enabled,
      firewall,
      accessLog,
      now: () => clock.now(),
    }),
  );
  app.route(
    "/",
    authRoutes({
      enabled: config.auth.enabled,
      service: () => {
        if (!auth) throw new AppError("NOT_READY", "The server is starting", { status: 503 });
        return auth;
      },
    }),
  );
  const closers: Closer[] = [];
  const llm = createLlmGateway({
    onCall: (row) => {
      metrics.llmCall(row);
      traceLlmCall(row);
    },
    onRetry: (provider, reason) => metrics.llmRetry(provider, reason),
    config: config.llm,
    prices: config.mind.prices,
    env: options.env ?? (() => undefined),
    store: options.store,
    clock,
    random,
    ids,
    log: log.child("llm"),
    bus: bus.scoped("kernel"),
    probeIntervalMs: config.health.llmProbeIntervalSeconds * 1_000,
    configCheck: { value: config, skip: new Set(Object.keys(options.origin.overrides)) },
  });
  let stopping = false;
  let stopped: Promise<void> | undefined;

  mountOpenApi(app, VERSION);
  app.route(
    "/",
    healthRoutes({
      registry: health,
      clock,
      version: VERSION,
      startedAt: clock.now(),
      isStopping: () => stopping,
      appDir: options.appDir,
      dataDir: options.dataDir,
      websocketConnections: () => ws.hub.stats().sockets,
    }),
  );

  const host = createPluginHost({
    plugins: options.plugins,
    config,
    log: log.child("plugin"),
    clock,
    random,
    ids,
    bus,
    hooks,
    health,
    store: options.store,
    app,
    llmFor: (id) => llm.forModule(id),
    toolsFor: (pluginId) => ({
      register: (tool) => tools.register(tool, "builtin"),
      specs: (names) =>
        tools.specs().filter((spec) => names === undefined || names.includes(spec.name)),
      run: (name, args, request) =>
        tools.call(name, args, {
          requestedBy: request.requestedBy,
          module: pluginId,
          ...(request.threadId !== undefined ? { threadId: request.threadId } : {}),
          ...(request.turnId !== undefined ? { turnId: request.turnId } : {}),
          ...(request.projectId !== undefined ? { projectId: request.projectId } : {}),
          ...(request.workspaceDir ? { workspaceDir: request.workspaceDir } : {}),
          ...(request.signal ? { signal: request.signal } : {}),
        }),
      sandbox: (job) => tools.runWorker(job),
    }),
    dataDir: options.dataDir,
    submitTurn: (input) => started().mind.submit(input),
    profile: () => started().mind.profile,
    timeouts: {
      setupMs: config.pluginHost.setupTimeoutMs,
      startMs: config.pluginHost.startTimeoutMs,
      stopMs: config.pluginHost.stopTimeoutMs,
    },
  });

  const origin = options.origin.file ?? "defaults";
  health.register("config", () => ({ status: "ok", reason: `loaded from ${origin}` }));
  health.register(
    "plugins",
    () =>
      host.state === "running"
        ? { status: "ok", reason: `${host.order.length} running` }
        : { status: "fail", reason: HOST_STATE_REASONS[host.state] },
  );

  health.register("llm", () => llm.readiness());
  const selfExec = selfExecCommand(config.tools.sandbox);
  // A compiled binary running a real deno: that deno cannot read the embedded runner.
  const runnerDir = isCompiledBinary() && config.tools.sandbox.denoPath !== null
    ? materializeRunner(join(options.dataDir, "sandbox", "runtime"))
    : null;
  const sandbox = createSandboxProbe({
    clock,
    cwd: join(options.dataDir, "sandbox", "empty"),
    prlimitPath: config.tools.sandbox.prlimitPath,
    denoPath: config.tools.sandbox.denoPath,
    selfExec,
    runnerDir,
  });
  health.register("sandbox", () => sandbox.check());
  const sandboxRuntime = {
    cwd: join(options.dataDir, "sandbox", "empty"),
    prlimitPath: config.tools.sandbox.prlimitPath,
    denoPath: config.tools.sandbox.denoPath,
    selfExec,
    runnerDir,
  };
  const tools = createToolService({
    config: config.tools,
    store: options.store,
    clock,
    ids,
    log: log.child("tools"),
    bus: bus.scoped("kernel"),
    dataDir: options.dataDir,
    env: options.env ?? (() => undefined),
    runnerDir,
    ...(config.tools.sandbox.pool.size > 0
      ? {
        pool: new SandboxPool({
          size: config.tools.sandbox.pool.size,
          maxCallsPerProcess: config.tools.sandbox.pool.maxCallsPerProcess,
          idleMs: config.tools.sandbox.pool.idleMs,
          limits: {
            memoryBytes: config.tools.sandbox.memoryLimitBytes,
            heapMiB: config.tools.sandbox.heapMiB,
            maxFrameBytes: config.tools.sandbox.maxFrameBytes,
          },
          runtime: sandboxRuntime,
          onKill: (reason) => metrics.sandboxKill(reason),
        }),
      }
      : {}),
    onRunEnd: (tool, outcome, seconds) => metrics.toolRun(tool, outcome, seconds),
    onKill: (reason) => metrics.sandboxKill(reason),
  });
  app.route("/", toolRoutes(() => tools));
  app.route("/", dashboard.routes);
  const envOf = (name: string) => {
    try {
      return options.env?.(name);
    } catch {
      return undefined; // not in the permission set
    }
  };
  const externalPlugins = createExternalPlugins({
    entries: config.plugins,
    baseDir: options.origin.file
      ? dirname(resolve(options.cwd ?? Deno.cwd(), options.origin.file))
      : (options.cwd ?? Deno.cwd()),
    dataDir: options.dataDir,
    settings: {
      autoPrepare: config.pluginHost.autoPrepare,
      maxConcurrentCalls: config.pluginHost.maxConcurrentCalls,
      fragmentDeadlineMs: config.pluginHost.fragmentDeadlineMs,
      fragmentTokens: config.pluginHost.fragmentTokens,
      livenessTimeoutMs: config.pluginHost.livenessTimeoutMs,
    },
    sandbox: {
      memoryLimitBytes: config.tools.sandbox.memoryLimitBytes,
      heapMiB: config.tools.sandbox.heapMiB,
      maxFrameBytes: config.tools.sandbox.maxFrameBytes,
      prlimitPath: config.tools.sandbox.prlimitPath,
      denoPath: config.tools.sandbox.denoPath,
      selfExec,
      runnerDir,
    },
    bundle: {
      cwd: options.appDir,
      prlimitPath: config.tools.sandbox.prlimitPath,
      denoPath: config.tools.sandbox.denoPath,
      env: Object.fromEntries(
        BUNDLE_ENV_NAMES.flatMap((name) => {
          const value = envOf(name);
          return value === undefined ? [] : [[name, value]];
        }),
      ),
    },
    takenIds: new Set(options.plugins.map((plugin) => plugin.manifest.id)),
    // Granted variables reach a plugin only if the server may read them (its permission set).
    env: envOf,
    clock,
    log: log.child("plugins"),
    bus: bus.scoped("kernel"),
    tools,
    hooks,
    health,
  });
  app.route(
    "/",
    pluginRoutes({
      external: externalPlugins,
      builtin: () =>
        options.plugins.map((plugin) => ({
          id: plugin.manifest.id,
          version: plugin.manifest.version,
          isolation: plugin.manifest.isolation,
          permissions: { ...plugin.manifest.permissions },
          tools: tools.list().filter((tool) =>
            tool.source === "builtin" && `tool_${tool.name}` === plugin.manifest.id
          )
            .map((tool) => tool.name),
        })),
    }),
  );
  let mind: Mind | undefined;
  let commands: CommandDispatcher | undefined;
  const started = () => {
    if (!mind || !commands) throw new Error("The mind is not started yet");
    return { mind, commands };
  };
  // The modules' mind-scope records, recomputed after any event or mutating request.
  const stateCache = createMindStateCache(() => started().mind);
  bus.subscribe("*", () => stateCache.invalidate());
  app.use(async (c, next) => {
    await next();
    if (c.req.method !== "GET" && c.req.method !== "HEAD") stateCache.invalidate();
  });
  app.route("/", stateHistoryRoutes(() => options.store, clock));
  app.route(
    "/",
    mindRoutes(() => started().mind, () => started().commands, stateCache, {
      clock,
      blockingTimeoutMs: config.chat.blockingTimeoutMs,
    }),
  );
  const wsTier = config.rateLimit.tiers.ws;
  const ws = createWsServer({
    config: {
      ...config.ws,
      messagesPerMinute: Math.max(1, Math.round(wsTier.limit * 60 / wsTier.windowSeconds)),
    },
    allowedOrigins: config.server.allowedOrigins,
    clock,
    log: log.child("ws"),
    bus: bus.scoped("kernel"),
    ids,
    mind: () => started().mind,
    tools: () => tools,
    async authenticate(token) {
      if (!config.auth.enabled) {
        return {
          id: LOCAL_PRINCIPAL.userId,
          username: LOCAL_PRINCIPAL.userId,
          role: LOCAL_PRINCIPAL.role,
          auth: "none",
        };
      }
      if (!token || !auth) return null;
      try {
        const principal = await auth.authenticate(token);
        return {
          id: principal.userId,
          username: principal.username ?? principal.userId,
          role: principal.role,
          auth: principal.auth === "api_key" ? "api_key" : "jwt",
          ...(principal.sid ? { sid: principal.sid } : {}),
          ...(principal.keyId ? { keyId: principal.keyId } : {}),
          ...(principal.exp ? { expiresAt: principal.exp * 1000 } : {}),
        };
      } catch {
        return null;
      }
    },
    async reflect(user) {
      const result = await started().commands.dispatch("/reflect", {
        userId: user.id,
        role: user.role,
        threadId: null,
      });
      if (!result.ok) throw new AppError("REFLECTION_FAILED", result.output.text, { status: 409 });
    },
    logSocket: (record) => accessLog.write(record),
    onFrame: (direction, text) => metrics.wsMessage(direction, frameType(text)),
    onClose: (code) => metrics.wsClosed(code),
    stateCache,
    ...(config.rateLimit.enabled
      ? {
        connectLimit: (ip: string) => limiter.hit("ws_connect", `ip:${ipBucket(ip)}`),
        chatLimit: (key: string) => limiter.hit("chat", key),
      }
      : {}),
  });
  app.route("/", ws.routes);
  app.route(
    "/",
    metricsRoute({
      metrics,
      public: config.metrics.public,
      token: config.metrics.token,
      authEnabled: config.auth.enabled,
      auth: () => auth,
    }),
  );
  const psycheGauges = watchPsyche();

  /** Turn outcomes and the psychological gauges follow the bus (state changes, not scrapes). */
  function watchPsyche(): { refresh(): Promise<void> } {
    const b = bus.scoped("kernel");
    let computing = false;
    let again = false;
    const refresh = async () => {
      if (computing) {
        again = true;
        return;
      }
      computing = true;
      do {
        again = false;
        try {
          if (!mind) break;
          const state = await currentSystemState(mind, null, stateCache);
          const affect = (state.mind as { affect?: { p: number; a: number; d: number } }).affect;
          metrics.psyche({
            pleasure: affect?.p ?? (state.valence as number),
            arousal: affect?.a ?? 0,
            dominance: affect?.d ?? 0,
            mood: (state.mood_tags as string[])[0] ?? "neutral",
            valence: state.valence as number,
            uncertainty: state.uncertainty as number,
            concernsOpen: state.pending_concerns as number,
            forecastAccuracy: state.dream_alignment as number | null,
            flowDifficulty: state.difficulty as number,
            flowState: state.flow_state as string,
            reflectionCoherence: state.coherence as number | null,
          });
        } catch (error) {
          log.debug("psychological metrics not updated", { error });
        }
      } while (again);
      computing = false;
    };
    // While a turn runs its state changes are read once, when it ends: every refresh reads
    // each module's state, and the turn waits behind those synchronous reads.
    let turnsRunning = 0;
    // In a later task, once for the changes of one task: a turn's reply goes out before these reads.
    let scheduled = false;
    const refreshSoon = () => {
      if (scheduled) return;
      scheduled = true;
      void afterResponse().then(() => {
        scheduled = false;
        return refresh();
      });
    };
    const turnEnded = () => {
      turnsRunning = Math.max(0, turnsRunning - 1);
      refreshSoon();
    };
    b.subscribe("mind.turn.completed", (event) => {
      metrics.turn("completed", event.data.stages);
      traceTurn("completed", event.data.stages ?? [], clock.now());
      turnEnded();
    });
    b.subscribe("mind.turn.event", (event) => {
      const type = event.data.event.type;
      if (type === "turn.started") turnsRunning++;
      if (type === "turn.failed") metrics.turn("failed");
      if (type === "turn.cancelled") metrics.turn("cancelled");
      if (type === "turn.failed" || type === "turn.cancelled") turnEnded();
    });
    b.subscribe("mind.state", () => {
      if (turnsRunning === 0) refreshSoon();
    });
    b.subscribe("mind.job", (event) => {
      if (event.data.status === "skipped" && event.data.reason === "budget") {
        metrics.budgetExhausted(event.data.module);
      }
      // A turn's own job changes are read when it ends.
      if (turnsRunning === 0) refreshSoon();
    });
    return { refresh };
  }
  app.route(
    "/",
    llmRoutes(llm, { clock, generateMaxTokens: config.llm.generate.maxTokens }),
  );

  health.register("disk", async () => {
    const minimum = config.health.minFreeDiskBytes;
    const mib = (bytes: number) => `${Math.floor(bytes / 1_048_576)} MiB`;
    let free: number;
    try {
      const stats = await statfs(options.dataDir);
      free = Number(stats.bavail) * Number(stats.bsize);
    } catch (error) {
      return {
        status: "degraded",
        reason: `free space unknown (${errorMessage(error).split("\n")[0]})`,
      };
    }
    return free >= minimum
      ? { status: "ok", reason: `free ${mib(free)}` }
      : { status: "fail", reason: `free ${mib(free)} < ${mib(minimum)}` };
  });
  // A write that succeeded stands for a few seconds: readiness needs no sign-in, and each request
  // must not make the server write. A failure is probed again at once, so recovery shows at the
  // next check. The probe waits for the lock well within the check's own time limit.
  let wroteAt = -Infinity;
  health.register("database", async () => {
    await options.store.ping();
    if (clock.now() - wroteAt < WRITE_PROBE_FRESH_MS) return { status: "ok" };
    try {
      await options.store.probeWrite(Math.max(1, Math.floor(config.health.checkTimeoutMs / 2)));
    } catch (error) {
      return { status: "fail", reason: `writes fail: ${errorMessage(error).split("\n")[0]}` };
    }
    wroteAt = clock.now();
    return { status: "ok" };
  });
  health.register("migrations", () => {
    const states = options.store.migrations();
    const pending = states.filter((state) => state.state !== "applied");
    if (pending.length > 0) {
      return {
        status: "fail",
        reason: `${pending.length} not applied (${
          pending.map((state) => `${state.version} ${state.state}`).join(", ")
        }); run deno task migrate up`,
      };
    }
    return { status: "ok", reason: `at version ${states.at(-1)?.version ?? 0}` };
  });

  async function closeAll() {
    for (const closer of closers.toReversed()) {
      try {
        await closer();
      } catch (error) {
        log.error("closing a kernel resource failed", { error });
      }
    }
  }

  return {
    app,
    host,
    health,
    hooks,
    bus,
    store: options.store,
    llm,
    ws,
    get mind() {
      return started().mind;
    },
    get commands() {
      return started().commands;
    },
    get auth() {
      if (config.auth.enabled && !auth) throw new Error("Auth is not started yet");
      return auth;
    },
    get setupToken() {
      return setupToken;
    },
    firewall,
    limiter,
    accessLog,
    metrics,
    sandbox,
    tools,
    externalPlugins,
    ids,
    log,
    clock,
    config,
    origin: options.origin,
    dataDir: options.dataDir,
    get stopping() {
      return stopping;
    },
    requestTimer,
    async start() {
      await firewall.load();
      closers.push(() => accessLog.close());
      closers.push(() => metrics.close());
      if (config.auth.enabled) {
        auth = await createAuthService({
          store: options.store,
          clock,
          ids,
          log: log.child("auth"),
          bus: bus.scoped("kernel"),
          config: config.auth,
          dataDir: options.dataDir,
        });
        setupToken = (await auth.openSetup()).printToken;
      }
      await llm.init();
      const { profile } = await loadProfile(config.mind.profile, {
        extraDir: resolve(options.cwd ?? Deno.cwd(), config.mind.profilesDir),
      });
      mind = createMind({
        config: {
          hookTimeoutMs: config.mind.hookTimeoutMs,
          prompt: config.mind.prompt,
          budget: config.mind.budget,
          maxQueue: config.chat.maxQueue,
          maxQueuePerUser: config.chat.maxQueuePerUser,
          maxMessageChars: 32_000,
          stateHistoryDays: config.mind.stateHistoryDays,
        },
        profile,
        store: options.store,
        clock,
        ids,
        log: log.child("mind"),
        bus: bus.scoped("kernel"),
        hooks,
        llm,
        plugins: options.plugins.map((plugin) => plugin.manifest.id),
        signal: host.signal,
        tools,
        toolConfig: {
          maxRoundsPerTurn: config.tools.maxRoundsPerTurn,
          maxCallsPerRound: config.tools.maxCallsPerRound,
          maxResultChars: config.tools.maxResultChars,
        },
      });
      commands = createCommandDispatcher({
        mind,
        hooks,
        store: options.store,
        ledger: llm.ledger,
        clock: options.clock,
        log: log.child("commands"),
        signal: host.signal,
        tools,
      });
      await host.setup();
      await Deno.mkdir(sandboxRuntime.cwd, { recursive: true });
      await tools.start();
      const unknownChecks = (config.health.readyRequires ?? []).filter((name) =>
        !health.names().includes(name)
      );
      if (unknownChecks.length > 0) {
        log.warn(
          "health.readyRequires names checks nothing registers; readiness fails until they exist",
          {
            unknown: unknownChecks,
            registered: health.names(),
          },
        );
      }
      await host.start();
      await externalPlugins.start();
      await mind.start();
      // The gauges show the restored state from the start, not only after the first change.
      await psycheGauges.refresh();
    },
    onClose(closer) {
      closers.push(closer);
    },
    beginStopping() {
      stopping = true;
      ws.stop();
      host.abort("The server is shutting down");
      mind?.beginStopping();
    },
    stop() {
      stopping = true;
      stopped ??= (async () => {
        try {
          ws.stop();
          llm.close();
          await mind?.stop();
          await externalPlugins.stop();
          await tools.stop();
          await host.stop();
        } finally {
          requestTimer.stop();
          // The last calls' rows, noted but not yet written (flush never rejects).
          await llm.ledger.flush();
          await closeAll();
        }
      })();
      return stopped;
    },
  };
}
