/**
 * The kernel's import surface for plugins (`@synth/kernel`). Plugins
 * import nothing else from `src/`, and never each other.
 *
 * @example A plugin with a route, a hook handler and a config section
 * ```ts
 * import { z } from "zod";
 * import { configMeta, defineHook, definePlugin } from "./mod.ts";
 *
 * const greeting = defineHook<string>("demo.greeting", "sequential");
 *
 * export const demoPlugin = definePlugin({
 *   manifest: {
 *     id: "demo",
 *     version: "1.0.0",
 *     isolation: "in_process",
 *     configSchema: z.strictObject({
 *       name: z.string().default("world").meta(configMeta({ description: "Who to greet." })),
 *     }),
 *   },
 *   setup(ctx) {
 *     ctx.hooks.on(greeting, (text) => text + "!");
 *     ctx.http.get("/", async (c) =>
 *       c.json({ text: await ctx.hooks.sequential(greeting, `Hello, ${ctx.config.name}`) }));
 *   },
 * });
 * ```
 *
 * @module
 */
export type { BusEvent, BusEventData, BusEventMap, BusHandler, EventBus } from "./bus.ts";
export {
  type Clock,
  delay,
  type DelayOptions,
  isoTime,
  MAX_TIMER_MS,
  nextTask,
  type TimerHandle,
  withTimeout,
  type WithTimeoutOptions,
} from "./clock.ts";
export { type ConfigMeta, configMeta } from "./config/fields.ts";
export { ConfigError, type ConfigIssue } from "./config/load.ts";
export { durationMs } from "./config/fields.ts";
export { AppError, type AppErrorOptions, ConfigurationError, errorMessage } from "./errors.ts";
export type { AppEnv, AppVariables } from "./http/types.ts";
export { ANY_OBJECT, describe, type Operation, PAGE } from "./http/openapi.ts";
export { firstJsonValue } from "./llm/json_tools.ts";
export { definePlugin } from "./plugin/define.ts";
export { defineTool } from "./tools/define.ts";
export { ToolError } from "./tools/errors.ts";
export type {
  ToolDefinition,
  ToolHostContext,
  ToolLimits,
  ToolResult,
  ToolRisk,
} from "./tools/types.ts";
export type { ShellBinaryConfig, ToolsConfig } from "./tools/config.ts";
export {
  folderBytes,
  hideWorkspace,
  resolveInWorkspace,
  withoutHostPaths,
  type WorkspacePath,
} from "./tools/workspace.ts";
export { findExecutable } from "./tools/binary.ts";
export type { WorkerRun } from "./tools/service.ts";
export type { Grants } from "./sandbox/host.ts";
export type { WorkerContext } from "./sandbox/worker_types.ts";
export type { SubmitInput, TurnHandle, TurnOrigin } from "./mind/mind.ts";
export { toolOutputBlock } from "./mind/mind.ts";
export type {
  PluginApi,
  PluginEventName,
  PluginFragment,
  PluginModuleManifest,
  PluginToolManifest,
} from "./plugin/external/api.ts";
export {
  PLUGIN_ERROR_CODES,
  PluginError,
  type PluginErrorCode,
  type PluginErrorOptions,
} from "./plugin/errors.ts";
export {
  type AnyHook,
  defineHook,
  type FirstAnswer,
  type FirstHook,
  type Hook,
  type HookCallContext,
  type HookHandler,
  type HookHandlerOptions,
  type HookKind,
  type HookRegistry,
  type ParallelHook,
  type ParallelOutcome,
  type RegisterHookOptions,
  type RunHookOptions,
  type SequentialHook,
} from "./plugin/hooks.ts";
export type {
  AnyPlugin,
  Plugin,
  PluginContext,
  PluginHooks,
  PluginManifest,
  SandboxPermissions,
  ToolRegistrar,
} from "./plugin/types.ts";
export type { CheckResult, CheckStatus, HealthCheck, HealthRegistrar } from "./telemetry/health.ts";
export type { LogFields, Logger, LogLevel, LogRecord } from "./telemetry/logger.ts";
export type { IdFactory } from "./ids.ts";
export { type Random, seededRandom } from "./random.ts";
export { BoundedMap } from "./bounded_map.ts";
export type { Principal, Role } from "./http/types.ts";
export type {
  Database,
  EmbedQueueTable,
  ForgottenTable,
  KvTable,
  MemoriesTable,
  MemoryKind,
  MemorySource,
  MemoryTrust,
  ThreadsTable,
  VectorSpacesTable,
} from "./store/schema.ts";
export * from "./store/prepared.ts";
export { afterKey } from "./store/keyset.ts";
export { openStoreReader, type Store, type StoreReader } from "./store/store.ts";
export type { MemoryFilter, TextHit, TextSearch } from "./store/text_search.ts";
export { ftsSegmentCount } from "./store/text_search.ts";
export {
  createVectorIndex,
  type CreateVectorIndexOptions,
  type SlotFilter,
  type SlotMeta,
  type VectorHit,
  type VectorIndex,
  type VectorRow,
} from "./vector/index.ts";
export {
  type AsyncVectorIndex,
  createThreadedVectorIndex,
  onThisThread,
  type ThreadedIndexOptions,
} from "./vector/threaded.ts";
export { type Embedder, embedderId, type EmbeddingQuality } from "./llm/embeddings/types.ts";
export {
  createLexicalEmbedder,
  LEXICAL_DIMS,
  LEXICAL_MODEL,
  lexicalVector,
} from "./llm/embeddings/lexical.ts";
export {
  clipText,
  codePoints,
  contentHash,
  contentTokens,
  cutText,
  isBlank,
  normalizeText,
  STOPWORDS,
  tokenize,
  tokenJaccard,
} from "./text.ts";
export { type ErrorBody, errorResponse, type ErrorResponseOptions } from "./http/errors.ts";
export { plainIssueMessage } from "./issue_text.ts";
export {
  queryInt,
  readJson,
  readQuery,
  requireRole,
  signedInCaller,
  threadReader,
  unstorableTextIssueIn,
} from "./http/validate.ts";
export {
  PREVIOUS_PAGE,
  readTimeIdCursor,
  timeIdCursor,
  type TimeIdKey,
  timeIdPage,
} from "./http/paging.ts";
export type { AnyPluginCommand, PluginCommand, PluginCommandContext } from "./plugin/command.ts";
export type { ModuleLlm } from "./llm/gateway.ts";
export type {
  BudgetCheck,
  BudgetDecision,
  BudgetGuard,
  ChatEvent,
  ChatMessage,
  ChatRequest,
  Completion,
  EmbedResult,
  LlmRole,
  LlmStatus,
  SafeParser,
  StopReason,
  ToolCall,
  ToolSpec,
  Usage,
} from "./llm/types.ts";
export { LLM_ERRORS, LlmError } from "./llm/errors.ts";
export { MIND_HOOKS } from "./mind/hooks.ts";
export type {
  CommandSpec,
  ConversationPort,
  ExportRequest,
  ForgetRequest,
  GenerationRequest,
  MindMessage,
  MindThread,
  PersistRequest,
  RecallRequest,
  StateRequest,
  TickRequest,
  WithinTransaction,
} from "./mind/hooks.ts";
export type {
  BackgroundJob,
  Command,
  CommandResult,
  Contribution,
  FragmentSection,
  GenerationParams,
  HistoryMessage,
  JobContext,
  JobResult,
  MindEvent,
  MindEventInput,
  MindRecall,
  Policy,
  PostassessContribution,
  PreassessContribution,
  PromptFragment,
  RecalledMemory,
  ReplyStream,
  ReplyView,
  Signals,
  TurnView,
} from "./mind/types.ts";
export type { AffectSnapshot, AppliedImpulse, Impulse } from "./mind/affect.ts";
export { type Appraisal, type Feedback, type Intent, INTENTS } from "./mind/appraisal.ts";
export type { Profile } from "./mind/profile.ts";
export type { HookHandlerEntry } from "./plugin/hooks.ts";
export { forgetPluginStateCache, type PluginState, pluginState } from "./mind/plugin_state.ts";
export { toApiShape } from "./mind/influence.ts";
export { FORECAST_ACCURACY, FORECAST_ITEM, FORECAST_RESOLUTION } from "./mind/state_schemas.ts";
export {
  clamp,
  cosine,
  countPhrases,
  median,
  normaliseText,
  sentences,
  stripFencedCode,
  tokens as wordTokens,
} from "./mind/text.ts";
export { stripConfidenceTags } from "./mind/confidence.ts";
export { redactPersonal } from "./mind/redact_personal.ts";
