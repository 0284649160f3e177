/**
 * The turn pipeline's shared types (spec/mind.md §3): the read-only view
 * handlers get, what they contribute, prompt fragments, jobs, events.
 *
 * @module
 */
import type { AffectSnapshot, AppliedImpulse, Impulse } from "./affect.ts";
import type { Appraisal, Feedback, Intent } from "./appraisal.ts";
import type { Profile } from "./profile.ts";
import type { ChatEvent, ToolCall, ToolSpec } from "../llm/types.ts";
import type { ModuleLlm } from "../llm/gateway.ts";

/** The signal board: each key written at most once per turn (§3.4). */
export interface Signals {
  "dreaming.alignment": number;
  "dreaming.surprise": number;
  "dreaming.intentHit": boolean;
  /** 1 with a semantic embedder, `dreaming.lexicalWeight` with the lexical one. */
  "dreaming.weight": number;
  "assurance.uPre": number;
  "assurance.uPost": number | null;
  "purpose.drifting": boolean;
  "calibration.state": "bored" | "flow" | "overloaded";
}

/** Clarify or proceed, and why (§7.1). */
export interface Policy {
  mode: "proceed" | "clarify";
  uPre: number;
  reasons: string[];
}

/** Where a fragment goes in the system prompt. */
export type FragmentSection = "persona" | "memory" | "state" | "instructions";

/** One piece of the system prompt, with the values that caused it. */
export interface PromptFragment {
  module: string;
  key: string;
  text: string;
  /** Cites the values that put it there. */
  reason: string;
  section: FragmentSection;
  /** 100: never dropped for the token budget. */
  priority: number;
}

/** A message of the thread as the prompt sees it. */
export interface HistoryMessage {
  seq: number;
  role: "user" | "assistant" | "tool";
  content: string;
  turnId: string | null;
  toolCalls?: ToolCall[];
  toolCallId?: string;
  toolName?: string;
}

/** A memory recalled for the turn. */
export interface RecalledMemory {
  memoryId: string;
  /** `semantic`, `episode`, `self`, `message`. */
  kind: string;
  text: string;
  score: number;
  /** How it was found: this turn's recall, or a forecast's prefetch. */
  source: "recall" | "prefetch";
  components: { vector?: number; bm25?: number; recency?: number };
  /** Where its text came from (`user`, `agent`, `tool`, `web`…). */
  origin: string;
  trust: "high" | "medium" | "low";
  createdAt: number;
}

/** What `mind.recall` answers. */
export interface MindRecall {
  items: RecalledMemory[];
  mode: string;
}

/** The reply as post-assessment sees it. */
export interface ReplyView {
  text: string;
  toolCalls: ToolCall[];
  /** Tool calls that failed in this turn, with a hash of their arguments. */
  toolErrors: Array<{ tool: string; argsHash: string; message: string }>;
  toolSuccesses: Array<{ tool: string; argsHash: string; output: string }>;
  /** The `<confidence>` value, or null when the tag was missing. */
  confidence: number | null;
  tagMissing: boolean;
}

/** The read-only view every turn hook gets. */
export interface TurnView {
  readonly turnId: string;
  readonly threadId: string;
  readonly userId: string;
  readonly seq: number;
  readonly now: number;
  readonly receivedAt: number;
  readonly message: {
    readonly text: string;
    readonly messageId: string | null;
    /** The stored message's seq in the thread. */
    readonly seq: number;
  };
  readonly feedback: Feedback | null;
  /** The plugin that queued the turn (a project step), or null for a user's message. */
  readonly origin: { plugin: string; data: Record<string, unknown> } | null;
  /** The thread's messages after the `/reset` marker, before this one, oldest first. */
  readonly history: readonly HistoryMessage[];
  /** Whether the thread had an assistant reply before this turn (since reset). */
  readonly hadEarlierReply: boolean;
  readonly appraisal: Appraisal;
  readonly signals: Readonly<Partial<Signals>>;
  readonly recall: MindRecall | null;
  readonly policy: Policy | null;
  /** Decayed to now. */
  readonly affect: AffectSnapshot;
  readonly embedder: { readonly id: string; readonly quality: "semantic" | "lexical" };
  readonly profile: Profile;
  /** After stage 7. */
  readonly reply: ReplyView | null;
  /** Turns completed in the thread before this one (since reset). */
  readonly threadTurn: number;
}

/** A typed mind event (persisted in stage 10, then delivered to `mind.event`). */
export interface MindEventInput {
  type: string;
  data: Record<string, unknown>;
}

/** A persisted mind event. */
export interface MindEvent extends MindEventInput {
  id: number;
  at: number;
  source: string;
  turnId: string | null;
  jobId: string | null;
  threadId: string | null;
}

/** What the sequential stage hooks return. */
export interface Contribution {
  signals?: Partial<Signals>;
  impulses?: Impulse[];
  events?: MindEventInput[];
}

/** `mind.preassess` may also set the policy. */
export interface PreassessContribution extends Contribution {
  policy?: Policy;
}

/** `mind.postassess` may also flag the reply and add a caveat. */
export interface PostassessContribution extends Contribution {
  flags?: { uncertain?: boolean };
  /** Text streamed after the model's text, as the last tokens. */
  caveat?: string;
}

/** Generation parameters the stage-6 hook may amend. */
export interface GenerationParams {
  /** null for a model that takes none. */
  temperature: number | null;
  maxTokens: number;
  tools: ToolSpec[];
  /** Why each part has its value (the influence record). */
  components: { base: number; affect: number; calibration: number; clamped: boolean };
  /** Calibration's offset, set by the calibration plugin. */
  calibrationOffset: number;
  /** Verbosity v in [-1, 1]; maxTokens = round(generation.maxTokens · 2^v). */
  verbosity: number;
}

/** A reply a plugin streams in place of the kernel's generation call (`mind.reply`). */
export type ReplyStream = AsyncIterable<ChatEvent>;

/** What runs a background job: the plugin's gateway view and the job's identity. */
export interface JobContext {
  readonly jobId: string;
  readonly turnId: string | null;
  readonly threadId: string | null;
  readonly signal: AbortSignal;
  readonly now: number;
  /** The plugin's gateway view; calls carry the job id for the budget. */
  readonly llm: ModuleLlm;
  /** The mind-scope state: affect and every plugin's record (`mind.state`). */
  state(): Promise<Record<string, unknown>>;
  /** A thread's newest messages after its `/reset` marker, oldest first. */
  messages(threadId: string, maxMessages: number): Promise<HistoryMessage[]>;
}

/** What a job reports. */
export interface JobResult {
  impulses?: Impulse[];
  events?: MindEventInput[];
  /** Why a job did nothing (e.g. `parse_failed`), recorded on the job. */
  note?: string;
  /**
   * The job ran but its work failed (a reflection that never parsed, a rewrite rejected): the job
   * ends `failed` with this as its error; its events and impulses still count.
   */
  failed?: string;
}

/** A unit of background cognition (§13). */
export interface BackgroundJob {
  /** The plugin id; the budget key. */
  module: string;
  kind: "forecast" | "reflection" | "narrative" | "session_summary" | "social" | string;
  /** Lower runs first: forecast 1, reflection 2, narrative 3, session summary 4, social 5. */
  priority: number;
  turnId?: string | null;
  threadId?: string | null;
  /** A newer job with the same key supersedes a queued one (forecasts per thread). */
  supersedeKey?: string;
  /** Runs the job; LLM calls go through `context.llm`. */
  run(context: JobContext): Promise<JobResult | void>;
}

/** A command as the dispatcher hands it to `mind.command`. */
export interface Command {
  name: string;
  args: string[];
  raw: string;
  userId: string;
  role: "viewer" | "operator" | "admin";
  threadId: string | null;
}

/** A command's answer. */
export interface CommandResult {
  command: string;
  ok: boolean;
  output: { text: string; data?: unknown };
  /**
   * Background work the command starts (`/reflect`); the dispatcher queues
   * it and, with `await`, reports how the first job ended.
   */
  jobs?: BackgroundJob[];
  await?: boolean;
}

/** The intents, re-exported for plugins. */
export type { AppliedImpulse, Appraisal, Feedback, Impulse, Intent };
