/**
 * The turn pipeline's hooks (spec/mind.md §3.3). Plugins register handlers
 * with `ctx.hooks.on(MIND_HOOKS.fragments, …)`; the kernel runs them with a
 * time limit each, and a failing handler never fails the turn.
 *
 * @module
 */
import { defineHook } from "../plugin/hooks.ts";
import type {
  BackgroundJob,
  Command,
  CommandResult,
  Contribution,
  GenerationParams,
  MindEvent,
  MindRecall,
  PostassessContribution,
  PreassessContribution,
  PromptFragment,
  RecalledMemory,
  ReplyStream,
  TurnView,
} from "./types.ts";
import type { Impulse } from "./affect.ts";
import type { Transaction } from "kysely";
import type { Store } from "../store/store.ts";
import type { Database } from "../store/schema.ts";
import type { TimeIdKey } from "../http/paging.ts";

/** A thread as the mind sees it. */
export interface MindThread {
  id: string;
  createdBy: string | null;
  title: string | null;
  projectId: string | null;
  createdAt: number;
  updatedAt: number;
  archived: boolean;
  /** Messages stored in the thread. */
  messageCount: number;
}

/** A stored message as the mind sees it. */
export interface MindMessage {
  uid: string;
  threadId: string;
  seq: number;
  role: "user" | "assistant" | "tool";
  text: string;
  turnId: string | null;
  authorId: string | null;
  toolCalls: Array<{ id: string; name: string; args: Record<string, unknown> }> | null;
  toolCallId: string | null;
  tokenCount: number;
  createdAt: number;
}

/** A caller's open transaction, and where work waiting for its commit goes. */
export interface WithinTransaction {
  db: Transaction<Database>;
  afterCommit(fn: () => void): void;
}

/**
 * Threads and messages, provided by the memory plugin (memory.md owns them)
 * through `mind.conversations`.
 */
export interface ConversationPort {
  createThread(
    input: { ownerUserId: string; title?: string | null; projectId?: string | null },
  ): Promise<MindThread>;
  getThread(id: string): Promise<MindThread | null>;
  /**
   * Who owns thread `id` (null when no one does), or null when there is no such thread: the
   * ownership check of every turn, without the title and message count `getThread` reads.
   * Optional; without it the mind asks `getThread`.
   */
  threadOwner?(id: string): Promise<{ createdBy: string | null } | null>;
  /**
   * The id of the owner's thread with the newest activity (not archived), or null: what the
   * state of `GET /api/state` reads on every request. Optional; without it `listThreads`.
   */
  latestThreadId?(ownerUserId: string): Promise<string | null>;
  /** Newest activity first; `before` continues after that thread (a page's last). */
  listThreads(
    ownerUserId: string,
    options?: {
      limit?: number;
      includeArchived?: boolean;
      /** The previous page's last thread: its `updatedAt` and id. */
      before?: TimeIdKey;
    },
  ): Promise<MindThread[]>;
  addMessage(input: {
    threadId: string;
    role: "user" | "assistant" | "tool";
    text: string;
    turnId?: string | null;
    authorId?: string | null;
    toolCalls?: Array<{ id: string; name: string; args: Record<string, unknown> }> | null;
    toolCallId?: string | null;
    tokenCount?: number;
  }, within?: WithinTransaction): Promise<MindMessage>;
  threadWindow(
    threadId: string,
    options: { maxTokens: number; maxMessages?: number; afterSeq?: number; beforeSeq?: number },
  ): Promise<MindMessage[]>;
  /** Renames, archives or restores a thread (an omitted key keeps it); null when unknown. */
  updateThread(
    id: string,
    patch: { title?: string | null; archived?: boolean },
  ): Promise<MindThread | null>;
  /**
   * Deletes the thread row, the last step of forgetting it (`mind.forget`
   * has removed its memories and derived rows by then); false when unknown.
   */
  deleteThread(id: string): Promise<boolean>;
}

/** Argument of `mind.recall`. */
export interface RecallRequest {
  view: TurnView;
  query: string;
  limit: number;
}

/** Argument of `mind.generation`. */
export interface GenerationRequest {
  view: TurnView;
  params: GenerationParams;
}

/** Argument of `mind.persist`: the open transaction of stage 10. */
export interface PersistRequest {
  view: TurnView;
  db: Store["db"];
}

/** Argument of `mind.tick`. */
export interface TickRequest {
  now: number;
  idleMs: number;
}

/** Argument of `mind.state`. */
export interface StateRequest {
  scope: "mind" | "thread";
  threadId?: string;
  userId?: string;
}

/** A command a plugin offers (listed by `/help`). */
export interface CommandSpec {
  name: string;
  usage: string;
  description: string;
  /** The least role that may run it. */
  role: "viewer" | "operator" | "admin";
}

/**
 * Argument of `mind.forget`: what to delete everywhere. One of `memoryId`,
 * `threadId` or `allOfUser` says what.
 */
export interface ForgetRequest {
  /** The owner of what is forgotten (a thread's: its creator). */
  userId: string;
  threadId?: string;
  memoryId?: string;
  /**
   * With `threadId`: the memories drawn from the thread go too (facts
   * extracted from it, events recorded in it) — `/forget thread`,
   * `DELETE /api/threads/{id}?forget=true`. Without it they outlive the
   * thread; its messages and per-thread records go either way.
   */
  derived?: boolean;
  /**
   * Everything else the user owns (their account is being deleted); asked
   * after each of their threads was forgotten on its own.
   */
  allOfUser?: boolean;
  /** Who asks, for the forget log. @default userId */
  actor?: string;
}

/** Argument of `mind.export`. */
export interface ExportRequest {
  userId: string;
  /** The caller's threads (archived ones too). */
  threadIds: readonly string[];
  /** `mind`: identity, narrative versions, milestones, reflections (admins). */
  scope: "user" | "mind";
}

/** Every hook of the mind. */
export const MIND_HOOKS = {
  /** Provides threads and messages (the memory plugin answers). */
  conversations: defineHook<void, ConversationPort>("mind.conversations", "first"),
  resolve: defineHook<TurnView, Contribution>("mind.resolve", "sequential"),
  recall: defineHook<RecallRequest, MindRecall>("mind.recall", "first"),
  /** Memories prefetched for a forecast that matched (joined to recall as `prefetch`). */
  prefetched: defineHook<TurnView, RecalledMemory[]>("mind.prefetched", "parallel"),
  preassess: defineHook<TurnView, PreassessContribution>("mind.preassess", "sequential"),
  fragments: defineHook<TurnView, PromptFragment[]>("mind.fragments", "parallel"),
  generation: defineHook<GenerationRequest, GenerationParams>("mind.generation", "sequential"),
  reply: defineHook<TurnView, ReplyStream>("mind.reply", "first"),
  postassess: defineHook<TurnView, PostassessContribution>("mind.postassess", "sequential"),
  calibrate: defineHook<TurnView, Contribution>("mind.calibrate", "sequential"),
  persist: defineHook<PersistRequest, void>("mind.persist", "sequential"),
  background: defineHook<TurnView, BackgroundJob[]>("mind.background", "parallel"),
  tick: defineHook<TickRequest, BackgroundJob[]>("mind.tick", "parallel"),
  event: defineHook<MindEvent, { impulses?: Impulse[]; jobs?: BackgroundJob[] } | void>(
    "mind.event",
    "parallel",
  ),
  state: defineHook<StateRequest, Record<string, unknown> | void>("mind.state", "parallel"),
  command: defineHook<Command, CommandResult>("mind.command", "first"),
  /** Lists the plugins' commands (for `/help` and suggestions). */
  commands: defineHook<void, CommandSpec[]>("mind.commands", "parallel"),
  /** Deletes a thread's or a memory's derived rows (`/forget`). */
  forget: defineHook<ForgetRequest, { deleted: number } | void>("mind.forget", "parallel"),
  /** Contributes a section to `/export` (keyed by plugin id). */
  export: defineHook<ExportRequest, Record<string, unknown> | void>("mind.export", "parallel"),
} as const;
