import {
  afterKey,
  type Clock,
  codePoints,
  cutText,
  type Database,
  type IdFactory,
  type MemorySource,
  prepare,
  type Store,
  type ThreadsTable,
  type TimeIdKey,
  type WithinTransaction,
} from "@synth/kernel";
import type { ExpressionBuilder, Kysely, Selectable } from "kysely";
import { encodeJson } from "./records.ts";
import { memoryError } from "./errors.ts";
import { recordForgotten } from "./forget.ts";
import {
  DEFAULT_IMPORTANCE,
  estimateTokens,
  MAX_MESSAGE_CHARS,
  MESSAGE_COLUMNS,
  storedMessage,
} from "./kinds.ts";
import type { MemoryWriter } from "./writer.ts";

/** A conversation. */
export interface Thread {
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

/** Who wrote a message. */
export type MessageRole = "user" | "assistant" | "tool";

/** A tool call an assistant message asked for. */
export interface StoredToolCall {
  id: string;
  name: string;
  args: Record<string, unknown>;
}

/** One stored conversation message. */
export interface ThreadMessage {
  /** The memory uid (`mem_…`). */
  uid: string;
  threadId: string;
  seq: number;
  role: MessageRole;
  text: string;
  turnId: string | null;
  authorId: string | null;
  toolCalls: StoredToolCall[] | null;
  toolCallId: string | null;
  tokenCount: number;
  createdAt: number;
}

/** Input of {@link Conversations.addMessage}. */
export interface AddMessageInput {
  threadId: string;
  role: MessageRole;
  text: string;
  turnId?: string | null;
  authorId?: string | null;
  toolCalls?: StoredToolCall[] | null;
  toolCallId?: string | null;
  /** The provider's token count; else `ceil(chars / 4)`. */
  tokenCount?: number;
}

/** A change to a thread (`PATCH /api/threads/{id}`); an omitted key keeps its value. */
export interface ThreadPatch {
  /** The new title; null clears it. */
  title?: string | null;
  archived?: boolean;
}

/** Options for {@link Conversations.threadWindow}. */
export interface ThreadWindowOptions {
  /** Most tokens of messages returned. */
  maxTokens: number;
  /** Most messages returned. */
  maxMessages?: number;
  /** Only messages after this seq. */
  afterSeq?: number;
  /** Only messages before this seq. */
  beforeSeq?: number;
}

/** Threads and their messages. */
export interface Conversations {
  createThread(
    input: { ownerUserId: string; title?: string | null; projectId?: string | null },
  ): Promise<Thread>;
  getThread(id: string): Promise<Thread | null>;
  /** The thread's owner (null when no one owns it), or null when there is no such thread. */
  threadOwner(id: string): Promise<{ createdBy: string | null } | null>;
  /** The id of the owner's thread with the newest activity (not archived), or null. */
  latestThreadId(ownerUserId: string): Promise<string | null>;
  /** Newest activity first; `before` continues after that thread (a page's last). */
  listThreads(
    ownerUserId: string,
    options?: {
      limit?: number;
      includeArchived?: boolean;
      before?: TimeIdKey;
    },
  ): Promise<Thread[]>;
  /**
   * Appends a message: assigns the next `seq`, counts tokens and commits
   * before returning (the user's message is stored before the reply starts).
   * With `within`, the rows join that open transaction instead, and what
   * follows a commit (events, the embedding wake-up) is handed to
   * `within.afterCommit`.
   *
   * @throws {AppError} `MEMORY_NOT_FOUND` for an unknown thread.
   */
  addMessage(input: AddMessageInput, within?: WithinTransaction): Promise<ThreadMessage>;
  /** The newest messages that fit, oldest first: the context rebuilt after a restart. */
  threadWindow(threadId: string, options: ThreadWindowOptions): Promise<ThreadMessage[]>;
  /** Renames, archives or restores a thread; null when there is no such thread. */
  updateThread(id: string, patch: ThreadPatch): Promise<Thread | null>;
  /**
   * Deletes the thread row; false when there was none. Its memories must be
   * forgotten first (the forget path takes them out of the vector index):
   * the cascade would only catch rows written since.
   */
  deleteThread(id: string): Promise<boolean>;
  /** Ids of the memories stored in the thread (messages, episodes), whoever owns them. */
  memoriesIn(threadId: string): Promise<number[]>;
  /**
   * Ids of the memories drawn from the thread but stored outside it: facts
   * extracted from its messages (`message:<uid>`) or its tool runs
   * (`tool_run:<id>`).
   */
  memoriesDrawnFrom(threadId: string): Promise<number[]>;
  /**
   * Moves the thread's memories other than its messages (episodes) out of
   * it, so they outlive the thread's deletion; returns how many.
   */
  detachMemories(threadId: string): Promise<number>;
}

/** SQLite's bound-parameter limit is far above this; it keeps statements small. */
const CHUNK = 500;

const SOURCE_OF_ROLE: Readonly<Record<MessageRole, MemorySource>> = {
  user: "user",
  assistant: "agent",
  tool: "tool",
};

/**
 * A thread as the port gives it. An untitled thread is shown with its first user message's opening
 * words, read with the thread rather than copied into it, so forgetting that message takes them away.
 */
function toThread(
  row: Selectable<ThreadsTable> & { first_text?: string | null; message_count?: number | null },
): Thread {
  return {
    id: row.id,
    createdBy: row.created_by,
    title: row.title ?? (row.first_text ? titleFrom(row.first_text) : null),
    projectId: row.project_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    archived: row.archived === 1,
    messageCount: row.message_count ?? 0,
  };
}

/** Options for {@link createConversations}. */
export interface ConversationsOptions {
  store: Store;
  clock: Clock;
  ids: IdFactory;
  writer: MemoryWriter;
  /** Called after a message commits (events, embedding wake-up). */
  onWritten: (ids: number[], uids: string[]) => void;
}

// The statements of every turn, compiled once.
/** The opening of a thread's first user message (for {@link toThread}'s title). */
const firstUserText = (eb: ExpressionBuilder<Database, "threads">) =>
  eb.selectFrom("memory_messages as mm").innerJoin("memories as m", "m.id", "mm.memory_id")
    .select((inner) => inner.fn<string>("substr", ["m.text", inner.val(1), inner.val(200)]).as("t"))
    .whereRef("mm.thread_id", "=", "threads.id").where("mm.role", "=", "user")
    .orderBy("mm.seq").limit(1).as("first_text");
const messageCount = (eb: ExpressionBuilder<Database, "threads">) =>
  eb.selectFrom("memory_messages as mm").select((inner) => inner.fn.countAll<number>().as("n"))
    .whereRef("mm.thread_id", "=", "threads.id").as("message_count");
const threadById = prepare((db: Kysely<Database>, slot) =>
  db.selectFrom("threads").selectAll().select([firstUserText, messageCount])
    .where("id", "=", slot("id"))
);
const threadOwnerById = prepare((db: Kysely<Database>, slot) =>
  db.selectFrom("threads").select("created_by").where("id", "=", slot("id"))
);
/** The first thread `listThreads` would list, without its title and message count. */
const latestThreadOf = prepare((db: Kysely<Database>, slot) =>
  db.selectFrom("threads").select("id").where("created_by", "=", slot("owner"))
    .where("archived", "=", 0).orderBy("updated_at", "desc").orderBy("id", "desc").limit(1)
);
/** The thread's owner and its last seq, in one statement (two messages per turn come this way). */
const threadAndLastSeq = prepare((db: Kysely<Database>, slot) =>
  db.selectFrom("threads").select((eb) => [
    "created_by",
    eb.selectFrom("memory_messages").select((inner) => inner.fn.max("seq").as("seq"))
      .where("thread_id", "=", slot("threadId")).as("last_seq"),
  ]).where("id", "=", slot("threadId"))
);
const insertMessageRow = prepare((db: Kysely<Database>, slot) =>
  db.insertInto("memory_messages").values({
    memory_id: slot<number>("memoryId"),
    thread_id: slot("threadId"),
    seq: slot<number>("seq"),
    role: slot<ThreadMessage["role"]>("role"),
    turn_id: slot<string | null>("turnId"),
    author_id: slot<string | null>("authorId"),
    tool_calls: slot<string | null>("toolCalls"),
    tool_call_id: slot<string | null>("toolCallId"),
    token_count: slot<number>("tokenCount"),
    full_text: slot<string | null>("fullText"),
  })
);
const touchThread = prepare((db: Kysely<Database>, slot) =>
  db.updateTable("threads").set({ updated_at: slot<number>("now") }).where("id", "=", slot("id"))
);
/** A thread title from a first message: its opening words, at most 60 characters. */
export function titleFrom(text: string): string {
  const words = text.replace(/\s+/g, " ").trim();
  if (words.length <= 60) return words;
  const cut = cutText(words, 59);
  const space = cut.lastIndexOf(" ");
  return `${(space >= 30 ? cut.slice(0, space) : cut).trimEnd()}…`;
}
/** Newest first; `afterSeq` is -1 when the whole thread counts. */
const windowRows = prepare((db: Kysely<Database>, slot) =>
  db.selectFrom("memory_messages as mm")
    .innerJoin("memories as m", "m.id", "mm.memory_id")
    .select(["m.uid", "mm.thread_id", "m.text", "m.created_at", ...MESSAGE_COLUMNS])
    .where("mm.thread_id", "=", slot("threadId"))
    .where("mm.seq", ">", slot<number>("afterSeq"))
    .where("mm.seq", "<", slot<number>("beforeSeq"))
    .orderBy("mm.seq", "desc").limit(slot<number>("limit"))
);

/** Creates the conversation store. */
export function createConversations(options: ConversationsOptions): Conversations {
  const { store, clock, ids, writer } = options;
  const { db } = store;
  return {
    async createThread(input) {
      const now = clock.now();
      const row = await db.insertInto("threads").values({
        id: ids.next("thr"),
        created_by: input.ownerUserId,
        title: input.title ?? null,
        project_id: input.projectId ?? null,
        created_at: now,
        updated_at: now,
      }).returningAll().executeTakeFirstOrThrow();
      return toThread(row);
    },

    async getThread(id) {
      const row = await threadById.executeTakeFirst(db, { id });
      return row ? toThread(row) : null;
    },

    async threadOwner(id) {
      const row = await threadOwnerById.executeTakeFirst(db, { id });
      return row ? { createdBy: row.created_by } : null;
    },

    async latestThreadId(ownerUserId) {
      const row = await latestThreadOf.executeTakeFirst(db, { owner: ownerUserId });
      return row?.id ?? null;
    },

    async listThreads(ownerUserId, listOptions = {}) {
      let query = db.selectFrom("threads").selectAll().select([firstUserText, messageCount])
        .where("created_by", "=", ownerUserId);
      if (!listOptions.includeArchived) query = query.where("archived", "=", 0);
      const before = listOptions.before;
      if (before) {
        query = query.where((eb) => afterKey(eb, { at: "updated_at", id: "id" }, before));
      }
      const rows = await query.orderBy("updated_at", "desc").orderBy("id", "desc")
        .limit(listOptions.limit ?? 50).execute();
      return rows.map(toThread);
    },

    async addMessage(input, within) {
      const tokenCount = input.tokenCount ?? estimateTokens(input.text);
      const write = async (trx: WithinTransaction["db"]) => {
        const thread = await threadAndLastSeq.executeTakeFirst(trx, { threadId: input.threadId });
        if (!thread) {
          throw memoryError("NOT_FOUND", { field: "thread_id", message: "No such thread" });
        }
        const seq = Number(thread.last_seq ?? 0) + 1;
        if (codePoints(input.text.trim()) > MAX_MESSAGE_CHARS) {
          throw memoryError("TEXT_TOO_LONG", { field: "text" });
        }
        const stored = storedMessage(input.text);
        const written = await writer.insert(trx, {
          kind: "message",
          ownerUserId: thread.created_by,
          threadId: input.threadId,
          text: stored.text,
          source: SOURCE_OF_ROLE[input.role],
          sourceRef: input.turnId ? `turn:${input.turnId}` : null,
          importance: DEFAULT_IMPORTANCE.message,
        });
        await insertMessageRow.execute(trx, {
          memoryId: written.id,
          threadId: input.threadId,
          seq,
          role: input.role,
          turnId: input.turnId ?? null,
          authorId: input.authorId ?? null,
          toolCalls: input.toolCalls ? encodeJson(input.toolCalls) : null,
          toolCallId: input.toolCallId ?? null,
          tokenCount,
          fullText: stored.full,
        });
        const now = clock.now();
        await touchThread.execute(trx, { now, id: input.threadId });
        return {
          id: written.id,
          value: {
            uid: written.uid,
            threadId: input.threadId,
            seq,
            role: input.role,
            text: input.text.trim(),
            turnId: input.turnId ?? null,
            authorId: input.authorId ?? null,
            toolCalls: input.toolCalls ?? null,
            toolCallId: input.toolCallId ?? null,
            tokenCount,
            createdAt: now,
          } satisfies ThreadMessage,
        };
      };
      const message = await (within ? write(within.db) : store.transaction(write));
      const written = () => options.onWritten([message.id], [message.value.uid]);
      if (within) within.afterCommit(written);
      else written();
      return message.value;
    },

    async threadWindow(threadId, windowOptions) {
      const maxMessages = windowOptions.maxMessages ?? 200;
      const picked: ThreadMessage[] = [];
      let tokens = 0;
      // Newest first, until the budget is spent; returned oldest first.
      const rows = await windowRows.execute(db, {
        threadId,
        afterSeq: windowOptions.afterSeq ?? -1,
        beforeSeq: windowOptions.beforeSeq ?? Number.MAX_SAFE_INTEGER,
        limit: maxMessages,
      });
      for (const row of rows) {
        if (tokens + row.token_count > windowOptions.maxTokens && picked.length > 0) break;
        tokens += row.token_count;
        picked.push({
          uid: row.uid,
          threadId: row.thread_id,
          seq: row.seq,
          role: row.role,
          text: row.full_text ?? row.text,
          turnId: row.turn_id,
          authorId: row.author_id,
          toolCalls: row.tool_calls === null ? null : JSON.parse(row.tool_calls),
          toolCallId: row.tool_call_id,
          tokenCount: row.token_count,
          createdAt: row.created_at,
        });
      }
      return picked.reverse();
    },

    async updateThread(id, patch) {
      const row = await db.updateTable("threads")
        .set({
          ...(patch.title !== undefined ? { title: patch.title } : {}),
          ...(patch.archived !== undefined ? { archived: patch.archived ? 1 : 0 } : {}),
          updated_at: clock.now(),
        })
        .where("id", "=", id).returning("id").executeTakeFirst();
      if (!row) return null;
      const updated = await threadById.executeTakeFirst(db, { id });
      return updated ? toThread(updated) : null;
    },

    async deleteThread(id) {
      return await store.transaction(async (trx) => {
        const result = await trx.deleteFrom("threads").where("id", "=", id).executeTakeFirst();
        const deleted = Number(result.numDeletedRows) > 0;
        // An import of an older export does not bring it back.
        if (deleted) await recordForgotten(trx, "thread", [id], clock.now());
        return deleted;
      });
    },

    async memoriesIn(threadId) {
      const rows = await db.selectFrom("memories").select("id").where("thread_id", "=", threadId)
        .orderBy("id").execute();
      return rows.map((row) => row.id);
    },

    async memoriesDrawnFrom(threadId) {
      const messages = await db.selectFrom("memory_messages as mm")
        .innerJoin("memories as m", "m.id", "mm.memory_id")
        .select("m.uid").where("mm.thread_id", "=", threadId).execute();
      const runs = await db.selectFrom("tool_runs").select("id").where("thread_id", "=", threadId)
        .execute();
      const refs = [
        ...messages.map((row) => `message:${row.uid}`),
        ...runs.map((row) => `tool_run:${row.id}`),
      ];
      const ids: number[] = [];
      for (let i = 0; i < refs.length; i += CHUNK) {
        const rows = await db.selectFrom("memories").select("id")
          .where("source_ref", "in", refs.slice(i, i + CHUNK))
          .where((eb) => eb.or([eb("thread_id", "is", null), eb("thread_id", "!=", threadId)]))
          .execute();
        ids.push(...rows.map((row) => row.id));
      }
      return ids.sort((a, b) => a - b);
    },

    async detachMemories(threadId) {
      const result = await db.updateTable("memories").set({ thread_id: null })
        .where("thread_id", "=", threadId).where("kind", "!=", "message").executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
  };
}
