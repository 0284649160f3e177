/**
 * The dashboard's state and its pure reducers (spec/dashboard.md §3, §4):
 * every change, server messages included, is an action.
 *
 * @module
 */
import { applyMergePatch } from "../lib/merge_patch.ts";
import type {
  Approval,
  ChatMessage,
  Envelope,
  HealthCheck,
  Influence,
  Thread,
  ToolRun,
  User,
} from "./types.ts";

/** Connection states of the socket (§4). */
export type ConnectionState =
  | "connecting"
  | "authenticating"
  | "online"
  | "reconnecting"
  | "offline"
  | "unauthorized";

/** The whole state. */
export interface State {
  auth: {
    status: "unknown" | "setup" | "anonymous" | "signed_in";
    user: User | null;
    token: string | null;
  };
  connection: {
    state: ConnectionState;
    attempt: number;
    nextAt: number | null;
    lastEventAt: number | null;
  };
  health: { llm: HealthCheck | null };
  mind: {
    version: number | null;
    state: Record<string, unknown> | null;
    /** P/A/D (and the flow estimate `ema` when reported) over time, newest last (≤ 2,000). */
    history: Array<{ t: number; p: number; a: number; d: number; ema?: number }>;
    stale: boolean;
  };
  chat: {
    threadId: string | null;
    threads: Thread[];
    /** The cursor of the next page of older threads; null when all are listed. */
    threadsNext: string | null;
    messages: ChatMessage[];
    /** The cursor of the open thread's earlier messages; null when all are shown. */
    earlier: string | null;
    influence: Record<string, Influence>;
    /** Tokens that arrived before the turn's bubble existed, by turn id. */
    early: Record<string, Array<{ index: number; text: string }>>;
    stale: boolean;
  };
  tools: { runs: Record<string, ToolRun>; approvals: Record<string, Approval>; stale: boolean };
  projects: {
    summaries: Record<string, Record<string, unknown>>;
    events: Record<string, Array<{ seq: number } & Record<string, unknown>>>;
    stale: boolean;
  };
  /**
   * Memory changes since the Memory page last loaded; `own` are ids this tab forgot itself (its
   * list shows that already), not counted when their `memory.update` arrives.
   */
  memory: { changes: number; own: string[] };
  notices: Array<{ id: number; level: "info" | "warn" | "error"; code: string; message: string }>;
}

/** Every action. */
export type Action =
  | { type: "auth"; status: State["auth"]["status"]; user?: User | null; token?: string | null }
  | { type: "token"; token: string }
  | { type: "connection"; state: ConnectionState; attempt?: number; nextAt?: number | null }
  | { type: "health"; llm: HealthCheck | null }
  | { type: "welcome"; resumed: boolean }
  | { type: "ws"; message: Envelope; now: number }
  | { type: "mind/loaded"; state: Record<string, unknown> }
  | { type: "chat/threads"; threads: Thread[]; next?: string | null; append?: boolean }
  | {
    type: "chat/open";
    threadId: string | null;
    messages: ChatMessage[];
    earlier?: string | null;
    /**
     * When the thread is the one shown, messages still on their way there (a reply streaming, a
     * message being sent) that the stored ones do not hold yet are kept after them.
     */
    keepLive?: boolean;
  }
  | { type: "chat/earlier"; threadId: string; messages: ChatMessage[]; earlier: string | null }
  /** Nothing to read again (no thread is open): the chat is no longer stale. */
  | { type: "chat/caught-up" }
  | { type: "chat/sent"; key: string; text: string; at: string }
  | { type: "chat/accepted"; key: string; turnId: string; threadId: string }
  | { type: "chat/failed"; key: string; error: { code: string; message: string } }
  | { type: "chat/influence"; turnId: string; record: Influence }
  | { type: "tools/loaded"; runs: ToolRun[]; approvals: Approval[] }
  | { type: "notice"; level: "info" | "warn" | "error"; code: string; message: string }
  | { type: "notice/dismiss"; id: number }
  /** Drops every notice with this code (one that no longer holds). */
  | { type: "notice/resolved"; code: string }
  | { type: "memory/refreshed" }
  | { type: "memory/forgot"; id: string };

/** The state of a fresh tab. */
export function initialState(): State {
  return {
    auth: { status: "unknown", user: null, token: null },
    connection: { state: "connecting", attempt: 0, nextAt: null, lastEventAt: null },
    health: { llm: null },
    mind: { version: null, state: null, history: [], stale: false },
    chat: {
      threadId: null,
      threads: [],
      threadsNext: null,
      messages: [],
      earlier: null,
      influence: {},
      early: {},
      stale: false,
    },
    tools: { runs: {}, approvals: {}, stale: false },
    projects: { summaries: {}, events: {}, stale: false },
    memory: { changes: 0, own: [] },
    notices: [],
  };
}

const HISTORY = 2_000;
/** Run statuses that are final. */
const RUN_ENDED: ReadonlySet<string> = new Set([
  "succeeded",
  "failed",
  "denied",
  "expired",
  "cancelled",
]);
let noticeIds = 0;

function affectPoint(
  state: Record<string, unknown> | null,
  t: number,
): State["mind"]["history"][number] | null {
  const mind = state?.mind as
    | {
      affect?: { p?: number; a?: number; d?: number };
      psyche_calibration?: { ema?: number | null };
    }
    | undefined;
  const affect = mind?.affect;
  if (!affect || typeof affect.p !== "number") return null;
  const ema = mind?.psyche_calibration?.ema;
  return {
    t,
    p: affect.p,
    a: affect.a ?? 0,
    d: affect.d ?? 0,
    ...(typeof ema === "number" ? { ema } : {}),
  };
}

/**
 * Affect moves smaller than this between two state messages are decay, not a change: the state's
 * affect is decayed when it is read, so every message carries slightly different values, while an
 * impulse moves it by more (and the charts show two decimals).
 */
const DECAY_ONLY = 0.005;

/**
 * The history with `point` added when the affect or the flow estimate changed: the server keeps a
 * point per change too (`/api/state/history`), so a chart shows the same points live and after a
 * reload, not one more for every other change of the state (a forecast, a concern, a job).
 */
function withPoint(history: State["mind"]["history"], point: ReturnType<typeof affectPoint>) {
  if (!point) return history;
  const last = history.at(-1);
  const near = (a: number, b: number) => Math.abs(a - b) < DECAY_ONLY;
  if (
    last && near(last.p, point.p) && near(last.a, point.a) && near(last.d, point.d) &&
    last.ema === point.ema
  ) return history;
  const next = [...history, point];
  return next.length > HISTORY ? next.slice(next.length - HISTORY) : next;
}

/** Joins streamed pieces in index order. */
function joined(pieces: string[]): string {
  return pieces.join("");
}

function upsertReply(
  messages: ChatMessage[],
  turnId: string,
  change: (message: ChatMessage) => ChatMessage,
  at: string,
): ChatMessage[] {
  const index = messages.findIndex((message) =>
    message.role === "assistant" && message.turnId === turnId
  );
  if (index >= 0) {
    const next = [...messages];
    next[index] = change(messages[index]!);
    return next;
  }
  return [
    ...messages,
    change({
      key: `turn:${turnId}`,
      role: "assistant",
      text: "",
      turnId,
      status: "streaming",
      pieces: [],
      createdAt: at,
    }),
  ];
}

function onMessage(state: State, message: Envelope, now: number): State {
  const data = message.data;
  const at = new Date(message.ts || now).toISOString();
  const connection = { ...state.connection, lastEventAt: now };
  switch (message.type) {
    case "state.snapshot": {
      const snapshot = data.state as Record<string, unknown>;
      return {
        ...state,
        connection,
        mind: {
          version: data.version as number,
          state: snapshot,
          history: withPoint(state.mind.history, affectPoint(snapshot, now)),
          stale: false,
        },
      };
    }
    case "state.delta": {
      if (state.mind.version === null || data.base_version !== state.mind.version) {
        return { ...state, connection, mind: { ...state.mind, stale: true } };
      }
      const next = applyMergePatch(state.mind.state, data.patch) as Record<string, unknown>;
      return {
        ...state,
        connection,
        mind: {
          version: data.version as number,
          state: next,
          history: withPoint(state.mind.history, affectPoint(next, now)),
          stale: false,
        },
      };
    }
    case "chat.token": {
      const turnId = String(data.turn_id);
      const index = Number(data.index);
      const text = String(data.text ?? "");
      const known = state.chat.messages.some((m) => m.turnId === turnId);
      if (!known && String(data.thread_id) !== state.chat.threadId) {
        // Tokens before the turn is known here: kept until its bubble exists.
        const held = state.chat.early[turnId] ?? [];
        if (held.some((piece) => piece.index === index)) return { ...state, connection }; // a duplicate
        const early = [...held, { index, text }];
        return {
          ...state,
          connection,
          chat: { ...state.chat, early: { ...state.chat.early, [turnId]: early } },
        };
      }
      const messages = upsertReply(state.chat.messages, turnId, (reply) => {
        if (reply.status !== "streaming") return reply;
        const pieces = [...(reply.pieces ?? [])];
        if (pieces[index] !== undefined) return reply; // a duplicate
        pieces[index] = text;
        return { ...reply, pieces, text: joined(pieces) };
      }, at);
      return { ...state, connection, chat: { ...state.chat, messages } };
    }
    case "chat.done": {
      const turnId = String(data.turn_id);
      if (String(data.thread_id) !== state.chat.threadId) {
        // Another thread's turn ended: its early tokens will never be attached.
        if (!(turnId in state.chat.early)) return { ...state, connection };
        const { [turnId]: _ended, ...early } = state.chat.early;
        return { ...state, connection, chat: { ...state.chat, early } };
      }
      const messages = upsertReply(state.chat.messages, turnId, (reply) => ({
        ...reply,
        key: data.message_id ? String(data.message_id) : reply.key,
        text: String(data.text ?? reply.text),
        status: (data.status as ChatMessage["status"]) ?? "completed",
        usage: (data.usage as ChatMessage["usage"]) ?? null,
        error: (data.error as ChatMessage["error"]) ?? null,
      }), at);
      return { ...state, connection, chat: { ...state.chat, messages } };
    }
    case "turn.influence": {
      const turnId = String(data.turn_id);
      return {
        ...state,
        connection,
        chat: { ...state.chat, influence: { ...state.chat.influence, [turnId]: data } },
      };
    }
    case "tool.run": {
      const run = data as unknown as ToolRun;
      const approvals = { ...state.tools.approvals };
      if (run.approval_id && run.status !== "pending_approval" && approvals[run.approval_id]) {
        const status = run.status === "expired"
          ? "expired"
          : run.status === "denied"
          ? "denied"
          : "approved";
        approvals[run.approval_id] = { ...approvals[run.approval_id]!, status };
      }
      return {
        ...state,
        connection,
        tools: { ...state.tools, runs: { ...state.tools.runs, [run.id]: run }, approvals },
      };
    }
    case "tool.approval_request": {
      const approval = data as unknown as Approval;
      return {
        ...state,
        connection,
        tools: { ...state.tools, approvals: { ...state.tools.approvals, [approval.id]: approval } },
      };
    }
    case "project.update": {
      const id = String(data.project_id);
      const event = data.event as ({ seq: number } & Record<string, unknown>) | undefined;
      const events = state.projects.events[id] ?? [];
      const fresh = event && !events.some((item) => item.seq === event.seq);
      return {
        ...state,
        connection,
        projects: {
          ...state.projects,
          summaries: { ...state.projects.summaries, [id]: data.project as Record<string, unknown> },
          events: fresh
            ? { ...state.projects.events, [id]: [...events, event].sort((a, b) => a.seq - b.seq) }
            : state.projects.events,
        },
      };
    }
    case "memory.update": {
      const ids = Array.isArray(data.ids) ? data.ids.map(String) : [];
      const own = state.memory.own;
      if (data.op === "forgotten" && ids.length > 0 && ids.every((id) => own.includes(id))) {
        const left = own.filter((id) => !ids.includes(id));
        return { ...state, connection, memory: { ...state.memory, own: left } };
      }
      return {
        ...state,
        connection,
        memory: { ...state.memory, changes: state.memory.changes + 1 },
      };
    }
    case "notice":
      return {
        ...state,
        connection,
        notices: [...state.notices, {
          id: ++noticeIds,
          level: (data.level as "info" | "warn" | "error") ?? "info",
          code: String(data.code ?? ""),
          message: String(data.message ?? ""),
        }].slice(-5),
      };
    default:
      return { ...state, connection };
  }
}

/** The reducer. */
export function reduce(state: State, action: Action): State {
  switch (action.type) {
    case "auth":
      return {
        ...state,
        auth: {
          status: action.status,
          user: action.user === undefined ? state.auth.user : action.user,
          token: action.token === undefined ? state.auth.token : action.token,
        },
      };
    case "token":
      return { ...state, auth: { ...state.auth, token: action.token } };
    case "connection":
      return {
        ...state,
        connection: {
          ...state.connection,
          state: action.state,
          attempt: action.attempt ?? (action.state === "online" ? 0 : state.connection.attempt),
          nextAt: action.nextAt === undefined ? null : action.nextAt,
        },
      };
    case "health":
      return { ...state, health: { llm: action.llm } };
    case "welcome":
      // A new session: every slice may have missed messages. A session is also the server back
      // after a restart: its "shutting down" notice is over.
      return action.resumed ? state : {
        ...state,
        notices: state.notices.filter((notice) => notice.code !== "SHUTTING_DOWN"),
        mind: { ...state.mind, stale: true },
        chat: { ...state.chat, stale: true },
        tools: { ...state.tools, stale: true },
        projects: { ...state.projects, stale: true },
      };
    case "ws":
      return onMessage(state, action.message, action.now);
    case "mind/loaded":
      return { ...state, mind: { ...state.mind, state: action.state, stale: false } };
    case "chat/threads": {
      // A further page joins the list; a first page replaces it.
      const known = new Set(action.append ? state.chat.threads.map((thread) => thread.id) : []);
      const threads = action.append
        ? [...state.chat.threads, ...action.threads.filter((thread) => !known.has(thread.id))]
        : action.threads;
      return { ...state, chat: { ...state.chat, threads, threadsNext: action.next ?? null } };
    }
    case "chat/open": {
      let messages = action.messages;
      if (action.keepLive && state.chat.threadId === action.threadId) {
        const keys = new Set(messages.map((message) => message.key));
        const stored = new Set(messages.map((message) => `${message.role}:${message.turnId}`));
        const live = state.chat.messages.filter((message) =>
          (message.status === "streaming" || message.status === "sent") &&
          !keys.has(message.key) && !stored.has(`${message.role}:${message.turnId}`)
        );
        messages = [...messages, ...live];
      }
      return {
        ...state,
        chat: {
          ...state.chat,
          threadId: action.threadId,
          messages,
          earlier: action.earlier ?? null,
          stale: false,
        },
      };
    }
    case "chat/caught-up":
      return { ...state, chat: { ...state.chat, stale: false } };
    case "chat/earlier": {
      if (state.chat.threadId !== action.threadId) return state;
      const shown = new Set(state.chat.messages.map((message) => message.key));
      return {
        ...state,
        chat: {
          ...state.chat,
          messages: [
            ...action.messages.filter((message) => !shown.has(message.key)),
            ...state.chat.messages,
          ],
          earlier: action.earlier,
        },
      };
    }
    case "chat/sent":
      return {
        ...state,
        chat: {
          ...state.chat,
          messages: [...state.chat.messages, {
            key: action.key,
            role: "user",
            text: action.text,
            turnId: null,
            status: "sent",
            createdAt: action.at,
          }],
        },
      };
    case "chat/accepted": {
      const pending = state.chat.messages.some((message) => message.key === action.key);
      // A re-read of the thread may already show the stored message of this turn.
      const stored = state.chat.messages.some((message) =>
        message.role === "user" && message.turnId === action.turnId && message.key !== action.key
      );
      // The user has opened another thread since sending: nothing here to attach to.
      if (!pending && !stored) return state;
      const early = state.chat.early[action.turnId] ?? [];
      let messages = stored
        ? state.chat.messages.filter((message) => message.key !== action.key)
        : state.chat.messages.map((message) =>
          message.key === action.key ? { ...message, turnId: action.turnId } : message
        );
      if (!messages.some((m) => m.role === "assistant" && m.turnId === action.turnId)) {
        const pieces: string[] = [];
        for (const piece of early) pieces[piece.index] = piece.text;
        messages = [...messages, {
          key: `turn:${action.turnId}`,
          role: "assistant",
          text: pieces.join(""),
          turnId: action.turnId,
          status: "streaming",
          pieces,
          createdAt: new Date().toISOString(),
        }];
      }
      const { [action.turnId]: _used, ...rest } = state.chat.early;
      return {
        ...state,
        chat: { ...state.chat, threadId: action.threadId, messages, early: rest },
      };
    }
    case "chat/failed":
      return {
        ...state,
        chat: {
          ...state.chat,
          messages: state.chat.messages.map((message) =>
            message.key === action.key
              ? { ...message, status: "failed", error: action.error }
              : message
          ),
        },
      };
    case "chat/influence":
      return {
        ...state,
        chat: {
          ...state.chat,
          influence: { ...state.chat.influence, [action.turnId]: action.record },
        },
      };
    case "tools/loaded": {
      // A listing can be older than the live messages that arrived while it loaded: a run or an
      // approval that has ended never goes back to waiting, and one the listing lacks stays.
      const runs = { ...state.tools.runs };
      for (const run of action.runs) {
        const known = runs[run.id];
        if (!(known && RUN_ENDED.has(known.status) && !RUN_ENDED.has(run.status))) {
          runs[run.id] = run;
        }
      }
      const approvals = { ...state.tools.approvals };
      for (const item of action.approvals) {
        const known = approvals[item.id];
        if (!(known && known.status !== "pending" && item.status === "pending")) {
          approvals[item.id] = item;
        }
      }
      return { ...state, tools: { runs, approvals, stale: false } };
    }
    case "notice":
      return {
        ...state,
        notices: [...state.notices, {
          id: ++noticeIds,
          level: action.level,
          code: action.code,
          message: action.message,
        }]
          .slice(-5),
      };
    case "notice/dismiss":
      return { ...state, notices: state.notices.filter((notice) => notice.id !== action.id) };
    case "notice/resolved":
      return { ...state, notices: state.notices.filter((notice) => notice.code !== action.code) };
    case "memory/refreshed":
      return { ...state, memory: { ...state.memory, changes: 0 } };
    case "memory/forgot":
      // The last few are enough: the update follows the request within moments.
      return {
        ...state,
        memory: { ...state.memory, own: [...state.memory.own, action.id].slice(-20) },
      };
  }
}
