import assert from "node:assert/strict";
import {
  ApiClient,
  ApiError,
  type ClientOptions,
  offersInfluence,
  type Session,
  shownMessages,
  toChatMessage,
} from "../../web/api/client.ts";

interface Call {
  method: string;
  path: string;
  authorization: string | null;
  contentType: string | null;
  body: unknown;
  signal: AbortSignal | null;
}

type Answer = (call: Call) => Response;

const SESSION: Session = {
  access_token: "tok_new",
  expires_in: 900,
  user: { id: "usr_1", username: "ada", role: "operator" },
};

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function errorBody(code: string, message: string, field?: string) {
  return {
    success: false,
    error: { code, message, ...(field ? { field } : {}), request_id: "req_1" },
  };
}

/** A client over a fake fetch that answers each call in turn from `answers`. */
function client(
  answers: Answer[],
  token = "tok_old",
  extra: Partial<Pick<ClientOptions, "onRefreshWait" | "sleep">> = {},
) {
  const calls: Call[] = [];
  const sessions: Array<Session | null> = [];
  let current: string | null = token;
  const fetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    const call: Call = {
      method: init?.method ?? "GET",
      path: String(input),
      authorization: headers.get("authorization"),
      contentType: headers.get("content-type"),
      body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
      signal: init?.signal ?? null,
    };
    calls.push(call);
    const answer = answers.shift();
    if (!answer) throw new Error(`unexpected call ${call.method} ${call.path}`);
    return Promise.resolve(answer(call));
  };
  const api = new ApiClient({
    token: () => current,
    onSession: (session) => {
      sessions.push(session);
      current = session?.access_token ?? null;
    },
    fetch,
    ...extra,
  });
  return { api, calls, sessions };
}

async function rejection(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ApiError, `not an ApiError: ${error}`);
    return error;
  }
  assert.fail("the request should have failed");
}

Deno.test("requests carry the bearer token, a JSON body and the abort signal", async () => {
  const { api, calls } = client([() => json(201, { id: "thr_1", title: "Plans" })]);
  const controller = new AbortController();
  const thread = await api.request("POST", "/api/threads", { title: "Plans" }, controller.signal);
  assert.deepEqual(thread, { id: "thr_1", title: "Plans" });
  assert.equal(calls.length, 1);
  assert.deepEqual(
    { ...calls[0]!, signal: calls[0]!.signal === controller.signal },
    {
      method: "POST",
      path: "/api/threads",
      authorization: "Bearer tok_old",
      contentType: "application/json",
      body: { title: "Plans" },
      signal: true,
    },
  );
});

Deno.test("a 204 answers undefined and a text body answers its text", async () => {
  const { api } = client([
    () => new Response(null, { status: 204 }),
    () => new Response("plain", { status: 200, headers: { "content-type": "text/plain" } }),
  ]);
  assert.equal(await api.request("DELETE", "/api/threads/thr_1"), undefined);
  assert.equal(await api.request("GET", "/api/text"), "plain");
});

Deno.test("a 401 leads to one refresh and one retry with the new token", async () => {
  const { api, calls, sessions } = client([
    () => json(401, errorBody("AUTH_TOKEN_EXPIRED", "The token has expired.")),
    () => json(200, SESSION),
    () => json(200, { version: 3 }),
  ]);
  assert.deepEqual(await api.state(), { version: 3 });
  assert.deepEqual(calls.map((call) => `${call.method} ${call.path}`), [
    "GET /api/state",
    "POST /api/auth/refresh",
    "GET /api/state",
  ]);
  assert.equal(calls[0]!.authorization, "Bearer tok_old");
  assert.equal(calls[1]!.authorization, null, "the refresh goes by cookie, not bearer");
  assert.deepEqual(calls[1]!.body, { session: "cookie" });
  assert.equal(calls[1]!.contentType, "application/json");
  assert.equal(calls[2]!.authorization, "Bearer tok_new");
  assert.deepEqual(sessions, [SESSION]);
});

Deno.test("a 401 on the retry is the answer: no second refresh", async () => {
  const { api, calls } = client([
    () => json(401, errorBody("AUTH_TOKEN_EXPIRED", "The token has expired.")),
    () => json(200, SESSION),
    () => json(401, errorBody("AUTH_TOKEN_REVOKED", "The token was revoked.")),
  ]);
  const error = await rejection(api.state());
  assert.equal(error.status, 401);
  assert.equal(error.code, "AUTH_TOKEN_REVOKED");
  assert.equal(calls.length, 3);
});

Deno.test("a failed refresh signs out and answers the first 401 without resending", async () => {
  const { api, calls, sessions } = client([
    () => json(401, errorBody("AUTH_TOKEN_EXPIRED", "The token has expired.")),
    () => json(401, errorBody("AUTH_REFRESH_INVALID", "Sign in again.")),
  ]);
  const error = await rejection(api.state());
  assert.equal(error.status, 401);
  assert.equal(error.code, "AUTH_TOKEN_EXPIRED");
  assert.deepEqual(calls.map((call) => call.path), ["/api/state", "/api/auth/refresh"]);
  assert.deepEqual(sessions, [null]);
});

Deno.test("concurrent 401s share one refresh", async () => {
  let refreshes = 0;
  const answer: Answer = (call) => {
    if (call.path === "/api/auth/refresh") {
      refreshes++;
      return json(200, SESSION);
    }
    return call.authorization === "Bearer tok_new"
      ? json(200, { path: call.path })
      : json(401, errorBody("AUTH_TOKEN_EXPIRED", "The token has expired."));
  };
  const { api, calls } = client(Array.from({ length: 6 }, () => answer));
  const answers = await Promise.all([api.request("GET", "/api/a"), api.request("GET", "/api/b")]);
  assert.deepEqual(answers, [{ path: "/api/a" }, { path: "/api/b" }]);
  assert.equal(refreshes, 1);
  assert.equal(calls.length, 5);
});

Deno.test("a 401 from a credential route is answered without a refresh", async () => {
  const { api, calls } = client([
    () => json(401, errorBody("AUTH_INVALID_CREDENTIALS", "Wrong username or password.")),
  ]);
  const error = await rejection(api.login("ada", "wrong"));
  assert.equal(error.code, "AUTH_INVALID_CREDENTIALS");
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0]!.body, { username: "ada", password: "wrong", session: "cookie" });
});

Deno.test("a 401 from /api/auth/me refreshes like any signed-in route", async () => {
  const { api, calls } = client([
    () => json(401, errorBody("AUTH_TOKEN_EXPIRED", "The token has expired.")),
    () => json(200, SESSION),
    () => json(200, SESSION.user),
  ]);
  assert.deepEqual(await api.me(), SESSION.user);
  assert.deepEqual(calls.map((call) => call.path), [
    "/api/auth/me",
    "/api/auth/refresh",
    "/api/auth/me",
  ]);
});

Deno.test("error bodies map to ApiError {status, code, message, field}", async () => {
  const { api } = client([
    () => json(400, errorBody("VALIDATION_FAILED", "The request is not valid.", "title")),
  ]);
  const error = await rejection(api.createThread("x".repeat(500)));
  assert.ok(error instanceof Error);
  assert.equal(error.name, "ApiError");
  assert.deepEqual(
    {
      status: error.status,
      code: error.code,
      message: error.message,
      field: error.field,
      retryAfter: error.retryAfter,
    },
    {
      status: 400,
      code: "VALIDATION_FAILED",
      message: "The request is not valid.",
      field: "title",
      retryAfter: undefined,
    },
  );
});

Deno.test("an error without a JSON body maps to HTTP_<status> and the status text", async () => {
  const { api } = client([
    () => new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" }),
    () => json(500, "not an error body"),
  ]);
  const text = await rejection(api.state());
  assert.equal(text.status, 502);
  assert.equal(text.code, "HTTP_502");
  assert.equal(text.message, "Bad Gateway");
  assert.equal(text.field, undefined);
  const odd = await rejection(api.state());
  assert.equal(odd.code, "HTTP_500");
  assert.equal(odd.message, "The request failed");
});

Deno.test("Retry-After is parsed into seconds", async () => {
  const { api } = client([
    () => json(429, errorBody("RATE_LIMITED", "Too many requests."), { "retry-after": "7" }),
    () => json(429, errorBody("RATE_LIMITED", "Too many requests."), { "retry-after": "soon" }),
  ]);
  const limited = await rejection(api.state());
  assert.equal(limited.status, 429);
  assert.equal(limited.code, "RATE_LIMITED");
  assert.equal(limited.retryAfter, 7);
  assert.equal((await rejection(api.state())).retryAfter, undefined);
});

// These two wait the client's real 1 s pause between refresh attempts.

Deno.test("a 409 AUTH_REFRESH_RACE is retried once, then the new session is used", async () => {
  const { api, calls, sessions } = client([
    () => json(409, errorBody("AUTH_REFRESH_RACE", "Another tab refreshed first.")),
    () => json(200, SESSION),
  ]);
  assert.equal(await api.refresh(), true);
  assert.deepEqual(calls.map((call) => call.path), ["/api/auth/refresh", "/api/auth/refresh"]);
  assert.deepEqual(sessions, [SESSION]);
});

Deno.test("a second AUTH_REFRESH_RACE gives up and reports no session", async () => {
  const { api, calls, sessions } = client([
    () => json(409, errorBody("AUTH_REFRESH_RACE", "Another tab refreshed first.")),
    () => json(409, errorBody("AUTH_REFRESH_RACE", "Another tab refreshed first.")),
  ]);
  assert.equal(await api.refresh(), false);
  assert.equal(calls.length, 2);
  assert.deepEqual(sessions, [null]);
});

Deno.test("another refresh failure is not retried", async () => {
  const { api, calls, sessions } = client([
    () => json(401, errorBody("AUTH_REFRESH_REUSED", "Sign in again.")),
  ]);
  assert.equal(await api.refresh(), false);
  assert.equal(calls.length, 1);
  assert.deepEqual(sessions, [null]);
});

Deno.test("toChatMessage maps a stored message to the chat log's shape", () => {
  assert.deepEqual(
    toChatMessage({
      id: "msg_1",
      role: "assistant",
      content: "Hi",
      turn_id: "trn_1",
      created_at: "2025-05-03T12:00:00.000Z",
    }),
    {
      key: "msg_1",
      role: "assistant",
      text: "Hi",
      turnId: "trn_1",
      status: "completed",
      createdAt: "2025-05-03T12:00:00.000Z",
    },
  );
  assert.equal(toChatMessage({ id: "msg_2", role: "user", content: "Yo" }).status, "sent");
  // A stored reply's model and tokens come back for its footer (dashboard.md §5.2).
  const usage = { provider: "openai", model: "gpt-test", input_tokens: 9, output_tokens: 4 };
  assert.deepEqual(
    toChatMessage({ id: "msg_3", role: "assistant", content: "Hi", usage }).usage,
    usage,
  );
});

Deno.test("the readiness document is read from a 503 too: a failing model check is shown, not lost", async () => {
  const checks = { llm: { status: "fail", reason: "openai: connection refused at 127.0.0.1:1" } };
  const { api, calls } = client([
    () => json(503, { status: "not_ready", reason: "llm", checks }),
    () => json(200, { status: "ready", checks: { llm: { status: "ok" } } }),
  ]);
  assert.deepEqual((await api.ready()).checks, checks);
  assert.equal(calls[0]!.path, "/health/ready");
  assert.equal((await api.ready()).checks.llm!.status, "ok");
});

Deno.test("stored messages show a failed turn as it ended live: a failed bubble without a reply, a cut-off reply with its error", () => {
  const base = { thread_id: "thr_1", author_id: null, created_at: "2026-11-26T10:00:00.000Z" };
  const shown = shownMessages([
    {
      ...base,
      id: "msg_1",
      role: "user",
      content: "Hi",
      turn_id: "turn_1",
      turn_status: "failed",
      turn_error: { code: "LLM_UNAVAILABLE", message: "No language model provider is available" },
    },
    {
      ...base,
      id: "msg_2",
      role: "user",
      content: "Go on",
      turn_id: "turn_2",
      turn_status: "failed",
      turn_error: null,
    },
    {
      ...base,
      id: "msg_3",
      role: "assistant",
      content: "So th",
      turn_id: "turn_2",
      turn_status: "failed",
      turn_error: { code: "LLM_STREAM_INTERRUPTED", message: "The reply was cut off" },
    },
    {
      ...base,
      id: "msg_4",
      role: "tool",
      content: "{}",
      turn_id: "turn_2",
      turn_status: "failed",
      turn_error: null,
    },
  ]);
  assert.deepEqual(shown.map((message) => [message.key, message.role, message.status]), [
    ["msg_1", "user", "sent"],
    ["turn:turn_1", "assistant", "failed"],
    ["msg_2", "user", "sent"],
    ["msg_3", "assistant", "failed"],
  ]);
  assert.equal(shown[1]!.error?.code, "LLM_UNAVAILABLE");
  assert.equal(shown[3]!.error?.code, "LLM_STREAM_INTERRUPTED");
  assert.equal(shown[3]!.text, "So th");
  // A turn that reached its reply has a record to show; one cut in line or by a crash has none.
  assert.deepEqual(shown.map(offersInfluence), [true, true, true, true]);
  for (const code of ["SHUTTING_DOWN", "MIND_INTERRUPTED"]) {
    const [, bubble] = shownMessages([{
      ...base,
      id: "msg_5",
      role: "user",
      content: "Later",
      turn_id: "turn_5",
      turn_status: "failed",
      turn_error: { code, message: "…" },
    }]);
    assert.equal(offersInfluence(bubble!), false, code);
  }
});

Deno.test("a rate-limited refresh waits for Retry-After and tries again instead of signing out", async () => {
  const slept: number[] = [];
  const waits: number[] = [];
  const { api, calls, sessions } = client(
    [
      () => json(429, errorBody("RATE_LIMITED", "Too many requests."), { "retry-after": "7" }),
      () => json(200, SESSION),
    ],
    "tok_old",
    {
      onRefreshWait: (seconds) => waits.push(seconds),
      sleep: (ms) => {
        slept.push(ms);
        return Promise.resolve();
      },
    },
  );
  assert.equal(await api.refresh(), true);
  assert.deepEqual(waits, [7]);
  assert.deepEqual(slept, [7_000]);
  assert.equal(calls.length, 2);
  assert.deepEqual(sessions, [SESSION]);

  // A wait longer than a minute is not waited for: signed out as before.
  const long = client(
    [
      () => json(429, errorBody("RATE_LIMITED", "Too many requests."), { "retry-after": "900" }),
    ],
    "tok_old",
    { sleep: () => Promise.reject(new Error("no wait expected")) },
  );
  assert.equal(await long.api.refresh(), false);
  assert.deepEqual(long.sessions, [null]);
});
