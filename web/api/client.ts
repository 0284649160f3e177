/**
 * The REST client (spec/dashboard.md §3): the only module that names HTTP
 * routes. It adds the access token, retries once after a refresh on 401,
 * and turns error bodies into {@link ApiError}.
 *
 * @module
 */
import type { Approval, ChatMessage, Thread, ToolRun, User } from "../state/types.ts";

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

/** A token bundle from login, setup or refresh. */
export interface Session {
  access_token: string;
  expires_in: number;
  user: User;
}

/** What the client needs from its host. */
export interface ClientOptions {
  /** The current access token. */
  token(): string | null;
  /** Called with a new session after a refresh, or null when the refresh failed. */
  onSession(session: Session | null): void;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** Routes whose 401 is about the credentials they carry, not an expired access token. */
const NO_REFRESH = new Set([
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
            await new Promise((resolve) => setTimeout(resolve, 1_000));
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

  authStatus(): Promise<
    { enabled: boolean; setup_required: boolean; setup_token_required?: boolean }
  > {
    return this.request<
      { enabled: boolean; setup_required: boolean; setup_token_required?: boolean }
    >(
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
  ready(): Promise<
    { status: string; checks: Record<string, { status: string; reason?: string }> }
  > {
    return this.request<
      { status: string; checks: Record<string, { status: string; reason?: string }> }
    >(
      "GET",
      "/health",
    );
  }
  threads(signal?: AbortSignal): Promise<{ items: Thread[] }> {
    return this.request<{ items: Thread[] }>("GET", "/api/threads?limit=50", undefined, signal);
  }
  messages(
    threadId: string,
    signal?: AbortSignal,
  ): Promise<{ items: Array<Record<string, unknown>> }> {
    return this.request<{ items: Array<Record<string, unknown>> }>(
      "GET",
      `/api/threads/${encodeURIComponent(threadId)}/messages?order=asc&limit=200`,
      undefined,
      signal,
    );
  }
  createThread(title?: string): Promise<Thread> {
    return this.request<Thread>("POST", "/api/threads", title ? { title } : {});
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
}

/** A stored message as the chat log shows it. */
export function toChatMessage(item: Record<string, unknown>): ChatMessage {
  return {
    key: String(item.id),
    role: item.role === "user" ? "user" : "assistant",
    text: String(item.content ?? ""),
    turnId: (item.turn_id as string | null) ?? null,
    status: item.role === "user" ? "sent" : "completed",
    createdAt: String(item.created_at ?? ""),
  };
}
