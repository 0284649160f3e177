/**
 * Threads, messages and turns as the API shows them (snake_case keys,
 * RFC 3339 times: spec/server.md §2, §4.3), shared by the routes and
 * `/export`.
 *
 * @module
 */
import { isoTime } from "../clock.ts";
import type { MindMessage, MindThread } from "./hooks.ts";
import { toSnakeCase } from "./influence.ts";
import type { StoredTurn } from "./mind.ts";

/** `Thread` on the wire. */
export interface ThreadView {
  id: string;
  title: string | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
  archived: boolean;
  message_count: number;
  project_id: string | null;
}

/** `Message` on the wire. */
export interface MessageView {
  id: string;
  thread_id: string;
  seq: number;
  role: MindMessage["role"];
  content: string;
  turn_id: string | null;
  author_id: string | null;
  created_at: string;
}

/** `Turn` on the wire. */
export interface TurnView {
  id: string;
  thread_id: string;
  seq: number;
  status: string;
  user_message_id: string | null;
  reply_message_id: string | null;
  received_at: string;
  started_at: string | null;
  finished_at: string | null;
  flags: StoredTurn["flags"];
  usage: unknown;
  error: StoredTurn["error"];
  stages: Array<{ name: string; duration_ms: number }>;
}

/** `Thread`. */
export function threadView(thread: MindThread): ThreadView {
  return {
    id: thread.id,
    title: thread.title,
    created_by: thread.createdBy,
    created_at: isoTime(thread.createdAt),
    updated_at: isoTime(thread.updatedAt),
    archived: thread.archived,
    message_count: thread.messageCount,
    project_id: thread.projectId,
  };
}

/** `Message` (with its `seq`), its text as given. */
export function messageView(message: MindMessage, content: string = message.text): MessageView {
  return {
    id: message.uid,
    thread_id: message.threadId,
    seq: message.seq,
    role: message.role,
    content,
    turn_id: message.turnId,
    author_id: message.authorId,
    created_at: isoTime(message.createdAt),
  };
}

/** `Turn`. */
export function turnView(turn: StoredTurn): TurnView {
  return {
    id: turn.id,
    thread_id: turn.threadId,
    seq: turn.seq,
    status: turn.status,
    user_message_id: turn.userMessageId,
    reply_message_id: turn.replyMessageId,
    received_at: isoTime(turn.receivedAt),
    started_at: turn.startedAt === null ? null : isoTime(turn.startedAt),
    finished_at: turn.finishedAt === null ? null : isoTime(turn.finishedAt),
    flags: turn.flags,
    usage: toSnakeCase(turn.usage),
    error: turn.error,
    stages: turn.stages.map((stage) => ({ name: stage.name, duration_ms: stage.durationMs })),
  };
}
