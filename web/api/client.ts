/**
 * The REST client (spec/dashboard.md §3): the only module that names HTTP
 * routes. It adds the access token, retries once after a refresh on 401,
 * and turns error bodies into {@link ApiError}.
 *
 * @module
 */
import type { Approval, ChatMessage, Thread, ToolRun, User } from "../state/types.ts";
import type {
  Budget,
  Concern,
  ForecastCalibration,
  ForecastSet,
  LedgerSummary,
  Memory,
  MemoryEmbedder,
  NarrativeVersion,
  Reflection,
  StatePoint,
  VcsCommit,
  VcsRollback,
  WorkspaceFile,
} from "../state/types.ts";
import { fileName } from "../lib/download.ts";
import { dispositionName } from "../lib/mind_stats.ts";
import type {
  NewProject,
  ProjectDetail,
  ProjectEvent,
  ProjectSummary,
  TemplateInfo,
  Timeline,
  TimelineProject,
  TurnAccepted,
} from "../lib/project_view.ts";

/** An error answer of the API. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** `Plugin` of `GET /api/plugins`. */
export interface PluginInfo {
  id: string;
  version: string | null;
  state: "running" | "starting" | "disabled" | "refused";
  isolation: "in_process" | "sandbox";
  source: string;
  requested_permissions: Record<string, string[] | undefined>;
  granted_permissions: Record<string, string[] | undefined>;
  last_error: { code: string; message: string } | null;
  tools: string[];
  crashes_recent?: number;
  events_dropped?: number;
}

/** A token bundle from login, setup or refresh. */
export interface Session {
  access_token: string;
  expires_in: number;
  user: User;
}

/** `GET /api/auth/status`. */
export interface AuthStatus {
  enabled: boolean;
  setup_required: boolean;
  setup_token_required?: boolean;
  /** Whether the browser sent the refresh cookie (absent from servers before it was added). */
  refresh_cookie?: boolean;
}

/** What the client needs from its host. */
export interface ClientOptions {
  /** The current access token. */
  token(): string | null;
  /** Called with a new session after a refresh, or null when the refresh failed. */
  onSession(session: Session | null): void;
  /**
   * A refresh was rate limited (the `auth` tier, shared with sign-in): it is tried again after
   * `seconds` instead of signing out.
   */
  onRefreshWait?(seconds: number): void;
  /** Waits before a retry. @default setTimeout */
  sleep?(ms: number): Promise<void>;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** Where the OpenAPI document is served (spec/server.md §13); the API reference at `/docs` reads it. */
export const OPENAPI_PATH = "/openapi.json";

/** Routes whose 401 is about the credentials they carry, not an expired access token. */
const NO_REFRESH = new Set([
  OPENAPI_PATH,
  "/api/auth/status",
  "/api/auth/login",
  "/api/auth/setup",
  "/api/auth/refresh",
  "/api/auth/logout",
]);

/** The API client. */
export class ApiClient {
  readonly #fetch: typeof fetch;
  #refreshing: Promise<boolean> | null = null;

  constructor(private readonly options: ClientOptions) {
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  async #send(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    auth: boolean,
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: "application/json" };
    const token = auth ? this.options.token() : null;
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    return await this.#fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
    });
  }

  /** Sends a request; on 401 refreshes the session once and retries. */
  /** A list route's `items` (the one page asked for). */
  async items<T>(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<T[]> {
    return (await this.request<{ items: T[] }>(method, path, body, signal)).items;
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
  ): Promise<T> {
    let response = await this.#send(method, path, body, signal, true);
    if (response.status === 401 && !NO_REFRESH.has(path.split("?")[0]!) && await this.refresh()) {
      await response.body?.cancel();
      response = await this.#send(method, path, body, signal, true);
    }
    // Without a new session the first 401 is the answer: resending the same token cannot help.
    return await this.#read<T>(response);
  }

  async #read<T>(response: Response): Promise<T> {
    const type = response.headers.get("content-type") ?? "";
    if (!response.ok) {
      let code = "HTTP_" + response.status;
      let message = response.statusText || "The request failed";
      let field: string | undefined;
      if (type.includes("json")) {
        const body = await response.json().catch(() => null) as
          | { error?: { code?: string; message?: string; field?: string } }
          | null;
        code = body?.error?.code ?? code;
        message = body?.error?.message ?? message;
        field = body?.error?.field;
      } else await response.body?.cancel();
      const retry = Number(response.headers.get("retry-after"));
      throw new ApiError(
        response.status,
        code,
        message,
        field,
        Number.isFinite(retry) && retry > 0 ? retry : undefined,
      );
    }
    if (response.status === 204) return undefined as T;
    return (type.includes("json") ? await response.json() : await response.text()) as T;
  }

  /** Rotates the session through the HttpOnly refresh cookie; true when it worked. */
  refresh(): Promise<boolean> {
    this.#refreshing ??= (async () => {
      try {
        const sleep = this.options.sleep ??
          ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
        let waited = 0;
        for (let attempt = 0; attempt < 2; attempt++) {
          const response = await this.#send(
            "POST",
            "/api/auth/refresh",
            { session: "cookie" },
            undefined,
            false,
          );
          if (response.ok) {
            this.options.onSession(await response.json());
            return true;
          }
          const body = await response.json().catch(() => null) as
            | { error?: { code?: string } }
            | null;
          // Another tab rotated the cookie first: try once more (spec/dashboard.md §5.1).
          if (
            response.status === 409 && body?.error?.code === "AUTH_REFRESH_RACE" && attempt === 0
          ) {
            await sleep(1_000);
            continue;
          }
          // Reloads spend the auth tier too: the session is still there, so wait for the window
          // (up to a minute, twice at most) rather than signing out.
          const retryAfter = Number(response.headers.get("retry-after"));
          if (response.status === 429 && retryAfter > 0 && retryAfter <= 60 && waited < 2) {
            waited++;
            attempt--;
            this.options.onRefreshWait?.(retryAfter);
            await sleep(retryAfter * 1_000);
            continue;
          }
          break;
        }
        this.options.onSession(null);
        return false;
      } finally {
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  // The routes the dashboard uses.

  authStatus(): Promise<AuthStatus> {
    return this.request<AuthStatus>(
      "GET",
      "/api/auth/status",
    );
  }
  login(username: string, password: string): Promise<Session> {
    return this.request<Session>("POST", "/api/auth/login", {
      username,
      password,
      session: "cookie",
    });
  }
  setup(setupToken: string, username: string, password: string): Promise<Session> {
    return this.request<Session>("POST", "/api/auth/setup", {
      setup_token: setupToken,
      username,
      password,
      session: "cookie",
    });
  }
  logout(): Promise<unknown> {
    return this.request<unknown>("POST", "/api/auth/logout", { session: "cookie" });
  }
  me(): Promise<User> {
    return this.request<User>("GET", "/api/auth/me");
  }
  /**
   * The readiness document (spec/dashboard.md §5.8): its checks whether the server is ready (200)
   * or not (503 with the same checks, e.g. when no language model answers).
   */
  async ready(): Promise<
    { status: string; checks: Record<string, { status: string; reason?: string }> }
  > {
    const response = await this.#send("GET", "/health/ready", undefined, undefined, false);
    if (response.status === 503 && (response.headers.get("content-type") ?? "").includes("json")) {
      return await response.json();
    }
    return await this.#read(response);
  }
  /** A page of the caller's threads, latest activity first; `cursor` is a page's `next_cursor`. */
  threads(
    signal?: AbortSignal,
    cursor?: string | null,
  ): Promise<{ items: Thread[]; next_cursor: string | null }> {
    return this.request<{ items: Thread[]; next_cursor: string | null }>(
      "GET",
      `/api/threads?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      undefined,
      signal,
    );
  }
  /** A thread's newest messages (before `cursor`, a page's `next_cursor`), oldest first. */
  messages(
    threadId: string,
    signal?: AbortSignal,
    cursor?: string | null,
  ): Promise<{ items: Array<Record<string, unknown>>; next_cursor: string | null }> {
    return this.request<{ items: Array<Record<string, unknown>>; next_cursor: string | null }>(
      "GET",
      `/api/threads/${encodeURIComponent(threadId)}/messages?order=asc&limit=200${
        cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""
      }`,
      undefined,
      signal,
    );
  }
  createThread(title?: string): Promise<Thread> {
    return this.request<Thread>("POST", "/api/threads", title ? { title } : {});
  }
  /** One of the caller's threads. */
  thread(threadId: string, signal?: AbortSignal): Promise<Thread> {
    return this.request<Thread>(
      "GET",
      `/api/threads/${encodeURIComponent(threadId)}`,
      undefined,
      signal,
    );
  }
  /** Renames (null: untitled) or archives one of the caller's threads. */
  updateThread(
    threadId: string,
    patch: { title?: string | null; archived?: boolean },
  ): Promise<Thread> {
    return this.request<Thread>("PATCH", `/api/threads/${encodeURIComponent(threadId)}`, patch);
  }
  /** Deletes a thread; `forget` also forgets the memories drawn from it. */
  deleteThread(threadId: string, forget: boolean): Promise<void> {
    return this.request<void>(
      "DELETE",
      `/api/threads/${encodeURIComponent(threadId)}${forget ? "?forget=true" : ""}`,
    );
  }
  sendTurn(
    threadId: string,
    content: string,
    clientMsgId: string,
  ): Promise<{ turn_id: string; thread_id: string; user_message_id: string }> {
    return this.request<{ turn_id: string; thread_id: string; user_message_id: string }>(
      "POST",
      `/api/threads/${encodeURIComponent(threadId)}/turns`,
      { content, client_msg_id: clientMsgId },
    );
  }
  cancelTurn(turnId: string): Promise<unknown> {
    return this.request<unknown>("POST", `/api/turns/${encodeURIComponent(turnId)}/cancel`);
  }
  influence(turnId: string): Promise<Record<string, unknown>> {
    return this.request<Record<string, unknown>>(
      "GET",
      `/api/turns/${encodeURIComponent(turnId)}/influence`,
    );
  }
  state(): Promise<Record<string, unknown>> {
    return this.request<Record<string, unknown>>("GET", "/api/state");
  }
  runs(query = ""): Promise<{ items: ToolRun[] }> {
    return this.request<{ items: ToolRun[] }>("GET", `/api/runs?limit=100${query}`);
  }
  approvals(status = "pending"): Promise<{ items: Approval[] }> {
    return this.request<{ items: Approval[] }>("GET", `/api/approvals?status=${status}`);
  }
  decide(approvalId: string, decision: "approve" | "deny"): Promise<Approval> {
    return this.request<Approval>("POST", `/api/approvals/${encodeURIComponent(approvalId)}`, {
      decision,
    });
  }
  /** The OpenAPI 3.1 document (public), for the API reference. */
  openApi(signal?: AbortSignal): Promise<Record<string, unknown>> {
    return this.request<Record<string, unknown>>("GET", OPENAPI_PATH, undefined, signal);
  }
  /** The command catalogue the caller may use (`/help`, spec/mind.md §15). */
  async commands(): Promise<Array<{ name: string; usage: string; description: string }>> {
    const answer = await this.request<
      { data: Array<{ name: string; usage: string; description: string }> }
    >(
      "POST",
      "/api/chat",
      { message: "/help" },
    );
    return answer.data ?? [];
  }
  // Administration (spec/dashboard.md §5.7; server.md §3, §6, §8, §9).

  /** Every user. */
  async users(signal?: AbortSignal): Promise<AdminUser[]> {
    const answer = await this.request<{ users: AdminUser[] }>(
      "GET",
      "/api/users",
      undefined,
      signal,
    );
    return answer.users;
  }
  async createUser(body: { username: string; password: string; role: Role }): Promise<AdminUser> {
    const answer = await this.request<{ user: AdminUser }>("POST", "/api/users", body);
    return answer.user;
  }
  /** Deactivates (ending the user's logins) or reactivates a user. */
  setUserActive(username: string, active: boolean): Promise<AdminUser> {
    return this.request<AdminUser>("PATCH", `/api/users/${encodeURIComponent(username)}`, {
      active,
    });
  }
  setUserRole(username: string, role: Role): Promise<{ message: string; user: AdminUser }> {
    return this.request<{ message: string; user: AdminUser }>(
      "PUT",
      `/api/users/${encodeURIComponent(username)}/role`,
      { role },
    );
  }
  setUserPassword(username: string, password: string): Promise<{ message: string }> {
    return this.request<{ message: string }>(
      "PUT",
      `/api/users/${encodeURIComponent(username)}/password`,
      { password },
    );
  }
  /** Every user's API keys (an administrator's view). */
  apiKeys(signal?: AbortSignal): Promise<ApiKeyInfo[]> {
    return this.items<ApiKeyInfo>(
      "GET",
      "/api/keys?all=true",
      undefined,
      signal,
    );
  }
  /** Creates a key of the caller's; the answer is the only one that carries `key`. */
  createApiKey(
    body: { name: string; role?: Role; expires_in_days?: number },
  ): Promise<ApiKeyInfo> {
    return this.request<ApiKeyInfo>("POST", "/api/keys", body);
  }
  deleteApiKey(id: string): Promise<void> {
    return this.request<void>("DELETE", `/api/keys/${encodeURIComponent(id)}`);
  }
  firewallRules(signal?: AbortSignal): Promise<FirewallRules> {
    return this.request<FirewallRules>("GET", "/api/firewall/rules", undefined, signal);
  }
  async firewallDenials(limit: number, signal?: AbortSignal): Promise<FirewallDenial[]> {
    const answer = await this.request<{ blocked: FirewallDenial[] }>(
      "GET",
      `/api/firewall/blocked?limit=${limit}`,
      undefined,
      signal,
    );
    return answer.blocked;
  }
  /** Sets the mode; 409 `FIREWALL_LOCKOUT` when it would block the caller, unless `force`. */
  setFirewallMode(mode: FirewallMode, force = false): Promise<{ mode: FirewallMode }> {
    return this.request<{ mode: FirewallMode }>("PUT", "/api/firewall/mode", {
      mode,
      ...(force ? { force: true } : {}),
    });
  }
  addFirewallRule(
    body: { list: "allow" | "deny"; cidr: string; note?: string; expires_at?: string },
  ): Promise<FirewallRule> {
    return this.request<FirewallRule>("POST", "/api/firewall/rules", body);
  }
  removeFirewallRule(id: string): Promise<void> {
    return this.request<void>("DELETE", `/api/firewall/rules/${encodeURIComponent(id)}`);
  }
  rateLimitStats(signal?: AbortSignal): Promise<RateLimitStats> {
    return this.request<RateLimitStats>("GET", "/api/ratelimit/stats", undefined, signal);
  }
  /** Every plugin, built-in and third-party (admin). */
  plugins(signal?: AbortSignal): Promise<PluginInfo[]> {
    return this.items<PluginInfo>(
      "GET",
      "/api/plugins",
      undefined,
      signal,
    );
  }
  /** Starts a third-party plugin afresh (also one disabled after crashes). */
  restartPlugin(id: string): Promise<PluginInfo> {
    return this.request<PluginInfo>("POST", `/api/plugins/${encodeURIComponent(id)}/restart`, {});
  }
  /** Forgets a client's counters (`u:<id>` or `ip:<address>`); 404 when it has none. */
  resetRateLimitClient(key: string): Promise<void> {
    return this.request<void>("DELETE", `/api/ratelimit/clients/${encodeURIComponent(key)}`);
  }
  /** Recent access-log lines, newest first (the server's ring; it has no cursor). */
  accessLog(query: AccessLogQuery, signal?: AbortSignal): Promise<AccessEntry[]> {
    const params = new URLSearchParams({ limit: String(query.limit) });
    if (query.user_id) params.set("user_id", query.user_id);
    if (query.since) params.set("since", query.since);
    if (query.status !== undefined) params.set("status", String(query.status));
    return this.items<AccessEntry>(
      "GET",
      `/api/accesslog?${params}`,
      undefined,
      signal,
    );
  }

  // The Mind page and the memory browser (spec/dashboard.md §5.3; server.md §4.2).

  /** The embedder the memories are searched with (`/api/memories/stats`). */
  async memoryEmbedder(signal?: AbortSignal): Promise<MemoryEmbedder> {
    const stats = await this.request<{ embedder: MemoryEmbedder }>(
      "GET",
      "/api/memories/stats",
      undefined,
      signal,
    );
    return stats.embedder;
  }

  /** P/A/D and the flow estimate since `since`, oldest first. */
  stateHistory(since: Date, signal?: AbortSignal): Promise<StatePoint[]> {
    const params = new URLSearchParams({
      fields: "affect,calibration",
      since: since.toISOString(),
    });
    return this.items<StatePoint>(
      "GET",
      `/api/state/history?${params}`,
      undefined,
      signal,
    );
  }
  /** Forecast sets of the caller's threads, newest first. */
  forecasts(
    query: { status?: ForecastSet["status"]; limit?: number },
    signal?: AbortSignal,
  ): Promise<ForecastSet[]> {
    const params = new URLSearchParams({ limit: String(query.limit ?? 50) });
    if (query.status) params.set("status", query.status);
    return this.items<ForecastSet>(
      "GET",
      `/api/forecasts?${params}`,
      undefined,
      signal,
    );
  }
  /** Forecast accuracy over the last `window` resolved sets. */
  forecastCalibration(window: number, signal?: AbortSignal): Promise<ForecastCalibration> {
    return this.request<ForecastCalibration>(
      "GET",
      `/api/forecasts/calibration?window=${window}`,
      undefined,
      signal,
    );
  }
  /** Concerns on the caller's threads, newest first. */
  concerns(status: Concern["status"] | null, signal?: AbortSignal): Promise<Concern[]> {
    return this.items<Concern>(
      "GET",
      `/api/concerns?limit=50${status ? `&status=${status}` : ""}`,
      undefined,
      signal,
    );
  }
  /** Reflection runs, newest first. */
  reflections(limit: number, signal?: AbortSignal): Promise<Reflection[]> {
    return this.items<Reflection>(
      "GET",
      `/api/reflections?limit=${limit}`,
      undefined,
      signal,
    );
  }
  /** Every narrative version, oldest first (page after page: the card diffs any two). */
  async narrativeVersions(signal?: AbortSignal): Promise<NarrativeVersion[]> {
    const versions: NarrativeVersion[] = [];
    let cursor: string | null = null;
    do {
      const answer: { items: NarrativeVersion[]; next_cursor: string | null } = await this.request(
        "GET",
        `/api/narrative/versions?limit=200${cursor ? `&cursor=${cursor}` : ""}`,
        undefined,
        signal,
      );
      versions.push(...answer.items);
      cursor = answer.next_cursor;
    } while (cursor);
    return versions;
  }
  /** Token budgets per module with the tokens used in the last hour and day. */
  budgets(signal?: AbortSignal): Promise<Budget[]> {
    return this.items<Budget>(
      "GET",
      "/api/budgets",
      undefined,
      signal,
    );
  }
  /** Calls, tokens and cost per module since `since`. */
  ledgerSummary(since: Date, signal?: AbortSignal): Promise<LedgerSummary> {
    const params = new URLSearchParams({ group_by: "module", since: since.toISOString() });
    return this.request<LedgerSummary>("GET", `/api/ledger/summary?${params}`, undefined, signal);
  }
  /** The caller's memories, newest first, a page at a time (`cursor` from the previous page). */
  memories(
    query: { kind?: Memory["kind"] | ""; cursor?: string | null; limit: number },
    signal?: AbortSignal,
  ): Promise<{ items: Memory[]; next_cursor: string | null }> {
    const params = new URLSearchParams({ limit: String(query.limit) });
    if (query.kind) params.set("kind", query.kind);
    if (query.cursor) params.set("cursor", query.cursor);
    return this.request<{ items: Memory[]; next_cursor: string | null }>(
      "GET",
      `/api/memories?${params}`,
      undefined,
      signal,
    );
  }
  /** One memory of the caller's (404 when it is not theirs or is gone). */
  memory(id: string, signal?: AbortSignal): Promise<Memory> {
    return this.request<Memory>(
      "GET",
      `/api/memories/${encodeURIComponent(id)}`,
      undefined,
      signal,
    );
  }
  /** Hybrid recall over the caller's memories (at most 50), best first. */
  searchMemories(
    body: { query: string; kinds?: Array<Memory["kind"]>; limit: number },
    signal?: AbortSignal,
  ): Promise<Array<{ memory: Memory; score: number }>> {
    return this.items<{ memory: Memory; score: number }>(
      "POST",
      "/api/memories/search",
      body,
      signal,
    );
  }
  /** Forgets one memory. */
  forgetMemory(id: string): Promise<void> {
    return this.request<void>("DELETE", `/api/memories/${encodeURIComponent(id)}`);
  }
  /**
   * The caller's memories as NDJSON, fetched with the token (never a link
   * carrying it), with the file name the server suggests.
   */
  exportMemories(signal?: AbortSignal): Promise<{ blob: Blob; filename: string }> {
    return this.#download("/api/memories/export", "memories.ndjson", signal);
  }

  /**
   * A file answer fetched with the token (refreshing once on 401), with the
   * name from its `Content-Disposition`, else `fallback`.
   */
  async #download(
    path: string,
    fallback: string,
    signal: AbortSignal | undefined,
  ): Promise<{ blob: Blob; filename: string }> {
    let response = await this.#send("GET", path, undefined, signal, true);
    if (response.status === 401 && await this.refresh()) {
      await response.body?.cancel();
      response = await this.#send("GET", path, undefined, signal, true);
    }
    if (!response.ok) await this.#read<never>(response); // throws the ApiError
    return {
      blob: await response.blob(),
      filename: dispositionName(response.headers.get("content-disposition"), fallback),
    };
  }

  // Projects (spec/dashboard.md §5.4–§5.5; projects.md §11, §13).

  /** The caller's projects, newest first (archived ones too when asked). */
  async projects(includeArchived: boolean, signal?: AbortSignal): Promise<ProjectSummary[]> {
    // Every page: the Projects page and its Gantt show all of the user's projects.
    const items: ProjectSummary[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ limit: "200" });
      if (includeArchived) query.set("include_archived", "true");
      if (cursor) query.set("cursor", cursor);
      const answer: { items: ProjectSummary[]; next_cursor: string | null } = await this.request(
        "GET",
        `/api/projects?${query}`,
        undefined,
        signal,
      );
      items.push(...answer.items);
      cursor = answer.next_cursor;
    } while (cursor);
    return items;
  }
  /** A project with its tasks and latest 50 events (`ref`: an id or a unique prefix). */
  project(ref: string, signal?: AbortSignal): Promise<ProjectDetail> {
    return this.request<ProjectDetail>(
      "GET",
      `/api/projects/${encodeURIComponent(ref)}`,
      undefined,
      signal,
    );
  }
  /** Starts a project from a description (a clarify turn is queued) or a template. */
  createProject(body: NewProject): Promise<{ project: ProjectDetail; turn: TurnAccepted | null }> {
    return this.request<{ project: ProjectDetail; turn: TurnAccepted | null }>(
      "POST",
      "/api/projects",
      body,
    );
  }
  /** Queues a project step with an explicit intent. */
  projectInput(
    ref: string,
    body: { intent: string; text?: string; steps?: number },
  ): Promise<TurnAccepted> {
    return this.request<TurnAccepted>(
      "POST",
      `/api/projects/${encodeURIComponent(ref)}/input`,
      body,
    );
  }
  /** Pauses, resumes, archives or focuses a project. */
  projectAction(
    ref: string,
    action: "pause" | "resume" | "archive" | "focus",
  ): Promise<{ project: ProjectSummary; changed: boolean }> {
    return this.request<{ project: ProjectSummary; changed: boolean }>(
      "POST",
      `/api/projects/${encodeURIComponent(ref)}/${action}`,
    );
  }
  /** Deletes an archived project (admin). */
  deleteProject(ref: string): Promise<void> {
    return this.request<void>("DELETE", `/api/projects/${encodeURIComponent(ref)}`);
  }
  /** A project's events after seq `after`, in seq order. */
  projectEvents(
    ref: string,
    query: { after: number; limit: number },
    signal?: AbortSignal,
  ): Promise<{ items: ProjectEvent[]; next_cursor: string | null }> {
    return this.request<{ items: ProjectEvent[]; next_cursor: string | null }>(
      "GET",
      `/api/projects/${encodeURIComponent(ref)}/events?after=${query.after}&limit=${query.limit}`,
      undefined,
      signal,
    );
  }
  /** A project's timeline: planned and actual dates, dependencies, milestones. */
  projectTimeline(ref: string, signal?: AbortSignal): Promise<TimelineProject> {
    return this.request<TimelineProject>(
      "GET",
      `/api/projects/${encodeURIComponent(ref)}/timeline`,
      undefined,
      signal,
    );
  }
  /** Every project's timeline, newest first. */
  timeline(includeArchived: boolean, signal?: AbortSignal): Promise<Timeline> {
    return this.request<Timeline>(
      "GET",
      `/api/timeline${includeArchived ? "?include_archived=true" : ""}`,
      undefined,
      signal,
    );
  }
  /** A project's workspace files (`path`, `bytes`, `modified_at`, `sha256`). */
  async projectFiles(ref: string, signal?: AbortSignal): Promise<WorkspaceFile[]> {
    const answer = await this.request<{ files: WorkspaceFile[] }>(
      "GET",
      `/api/projects/${encodeURIComponent(ref)}/files`,
      undefined,
      signal,
    );
    return answer.files;
  }
  /**
   * One workspace file, fetched with the token (spec/dashboard.md §2), with
   * the name the server suggests, else the path's last segment.
   */
  downloadProjectFile(
    ref: string,
    path: string,
    signal?: AbortSignal,
  ): Promise<{ blob: Blob; filename: string }> {
    // Each segment encoded, the slashes kept: the route takes the path as it is in the workspace.
    const encoded = path.split("/").map(encodeURIComponent).join("/");
    return this.#download(
      `/api/projects/${encodeURIComponent(ref)}/files/${encoded}`,
      fileName(path),
      signal,
    );
  }
  /** The workspace's commits, newest first; 409 `GDIL_VCS_DISABLED` without version control. */
  async vcsLog(ref: string, signal?: AbortSignal): Promise<VcsCommit[]> {
    const answer = await this.request<{ commits: VcsCommit[] }>(
      "GET",
      `/api/projects/${encodeURIComponent(ref)}/vcs/log`,
      undefined,
      signal,
    );
    return answer.commits;
  }
  /** Resets the workspace to `commit`, keeping the old HEAD on the backup branch it names. */
  vcsRollback(ref: string, commit: string): Promise<VcsRollback> {
    return this.request<VcsRollback>(
      "POST",
      `/api/projects/${encodeURIComponent(ref)}/vcs/rollback`,
      { commit },
    );
  }
  /** The project templates. */
  templates(signal?: AbortSignal): Promise<TemplateInfo[]> {
    return this.items<TemplateInfo>(
      "GET",
      "/api/templates",
      undefined,
      signal,
    );
  }
}

/** A stored message as the chat log shows it. */
export function toChatMessage(item: Record<string, unknown>): ChatMessage {
  const error = (item.turn_error as ChatMessage["error"] | undefined) ?? null;
  const ended = item.turn_status === "failed" || item.turn_status === "cancelled";
  return {
    key: String(item.id),
    role: item.role === "user" ? "user" : "assistant",
    text: String(item.content ?? ""),
    turnId: (item.turn_id as string | null) ?? null,
    // A reply that was cut off shows as it did live: its turn's end and error.
    status: item.role === "user"
      ? "sent"
      : ended
      ? item.turn_status as ChatMessage["status"]
      : "completed",
    ...(item.role !== "user" && error ? { error } : {}),
    // A reply's footer shows its model and tokens after a reload as it did live.
    ...(item.role === "assistant" && item.usage
      ? { usage: item.usage as NonNullable<ChatMessage["usage"]> }
      : {}),
    createdAt: String(item.created_at ?? ""),
  };
}

/**
 * A page of stored messages as the log shows them: tool results appear as tool cards, and a turn
 * that failed without a stored reply gets the failed reply bubble it had live, with its error.
 */
export function shownMessages(items: Array<Record<string, unknown>>): ChatMessage[] {
  return items.filter((item) => item.role !== "tool").flatMap((item) => {
    const message = toChatMessage(item);
    const error = item.turn_error as ChatMessage["error"] | undefined;
    if (item.role !== "user" || !error || !message.turnId) return [message];
    const status = item.turn_status === "cancelled" ? "cancelled" : "failed";
    return [message, {
      key: `turn:${message.turnId}`,
      role: "assistant" as const,
      text: "",
      turnId: message.turnId,
      status,
      error,
      createdAt: message.createdAt,
    }];
  });
}

/** Failures of turns that never reached their reply, so no influence record was kept. */
const UNRECORDED_FAILURES = new Set(["SHUTTING_DOWN", "MIND_INTERRUPTED"]);

/**
 * Whether a reply bubble offers "Why this reply": a finished turn's, except a turn that stopped
 * waiting in line or was cut by a crash (`GET /api/turns/{id}/influence` is 404 for those).
 */
export function offersInfluence(message: ChatMessage): boolean {
  return message.turnId !== null && message.status !== "streaming" &&
    !(message.error && UNRECORDED_FAILURES.has(message.error.code));
}

/** A role (spec/server.md §3.1). */
export type Role = "viewer" | "operator" | "admin";

/** `User` as the user administration shows it. */
export interface AdminUser {
  id: string;
  username: string;
  role: Role;
  active: boolean;
  created_at: string | null;
  last_login: string | null;
}

/** `ApiKey`; `key` only in the answer that created it. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  prefix: string;
  role: Role;
  user_id: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  key?: string;
}

/** The firewall's mode (spec/server.md §8). */
export type FirewallMode = "off" | "allowlist" | "denylist";

/** `FirewallRule`. */
export interface FirewallRule {
  id: string;
  list: "allow" | "deny";
  cidr: string;
  note: string;
  source: "api" | "config";
  created_at: string | null;
  expires_at: string | null;
}

/** `GET /api/firewall/rules`. */
export interface FirewallRules {
  mode: FirewallMode;
  always_allowed: string[];
  rules: FirewallRule[];
}

/** One refused request. */
export interface FirewallDenial {
  timestamp: string;
  ip: string;
  reason: string;
  path: string;
}

/** One tier in `GET /api/ratelimit/stats`. */
export interface RateTierStats {
  limit: number;
  window_seconds: number;
  active_clients: number;
  blocked_clients: number;
  refused_total: number;
}

/** `GET /api/ratelimit/stats`. */
export interface RateLimitStats {
  enabled: boolean;
  tiers: Record<string, RateTierStats>;
}

/** What `GET /api/accesslog` filters on the server. */
export interface AccessLogQuery {
  limit: number;
  user_id?: string;
  since?: string;
  status?: number;
}

/** One access-log line (spec/server.md §9). */
export interface AccessEntry {
  ts: string;
  request_id: string;
  method: string;
  path: string;
  route: string | null;
  status: number;
  duration_ms: number;
  client_ip: string;
  user_id: string | null;
  auth: string;
  blocked?: "firewall" | "rate_limit" | "host" | "lockout";
}
