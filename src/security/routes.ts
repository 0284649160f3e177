/**
 * Auth, user and API-key routes (spec/server.md §3, §4.2): status, first-run
 * setup, login, refresh (body or cookie), logout, the caller's own account,
 * user administration and keys.
 *
 * @module
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { AppError } from "../errors.ts";
import { peerIp } from "../http/client_ip.ts";
import { describe, type Operation } from "../http/openapi.ts";
import type { AppEnv, Principal } from "../http/types.ts";
import { readJson, readQuery, requireRole } from "../http/validate.ts";
import type { AuthService, Issued } from "./auth.ts";
import { USERNAME_PATTERN } from "./passwords.ts";

const REFRESH_COOKIE = "synth_refresh";
const role = z.enum(["viewer", "operator", "admin"]);
const session = z.enum(["body", "cookie"]).optional();
const credentials = {
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1_024),
};
const setupBody = z.strictObject({
  setup_token: z.string().min(1).max(256),
  ...credentials,
  session,
});
const loginBody = z.strictObject({ ...credentials, session });
const refreshBody = z.strictObject({
  refresh_token: z.string().min(1).max(512).optional(),
  session,
});
const passwordBody = z.strictObject({
  current_password: z.string().min(1).max(1_024),
  new_password: z.string().min(1).max(1_024),
});
const newUserBody = z.strictObject({ ...credentials, role: role.default("viewer") });
const patchUserBody = z.strictObject({ active: z.boolean() });
const setPasswordBody = z.strictObject({ password: z.string().min(1).max(1_024) });
const setRoleBody = z.strictObject({ role });
const newKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  role: role.optional(),
  expires_in_days: z.number().int().min(1).max(3_650).optional(),
});
const keysQuery = z.strictObject({ all: z.enum(["true", "false"]).optional() });

/** Options for {@link authRoutes}. */
export interface AuthRoutesOptions {
  /** False: every request is the local administrator and these routes say so. */
  enabled: boolean;
  service(): AuthService;
}

function principalOf(c: Context<AppEnv>): Principal {
  return c.get("principal");
}

/** The auth routes. */
export function authRoutes(options: AuthRoutesOptions): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  describe(app, OPERATIONS);
  const service = () => {
    if (!options.enabled) {
      throw new AppError(
        "AUTH_DISABLED",
        "Authentication is disabled on this server (auth.enabled is false)",
        { status: 409 },
      );
    }
    return options.service();
  };

  /** Answers a token bundle, moving the refresh token into a cookie when asked. */
  function answer(c: Context<AppEnv>, issued: Issued, mode: string | undefined, status = 200) {
    if (mode === "cookie") {
      setCookie(c, REFRESH_COOKIE, issued.refreshToken, {
        httpOnly: true,
        sameSite: "Strict",
        path: "/api/auth",
        secure: new URL(c.req.url).protocol === "https:",
        maxAge: issued.bundle.refresh_expires_in,
      });
      const { refresh_token: _omitted, ...bundle } = issued.bundle;
      return c.json(bundle, status as 200);
    }
    return c.json(issued.bundle, status as 200);
  }

  app.get("/api/auth/status", async (c) => {
    if (!options.enabled) {
      return c.json({
        enabled: false,
        setup_required: false,
        setup_token_required: false,
        message: "Authentication disabled",
        refresh_cookie: false,
      });
    }
    // The cookie's path covers this route: a page learns whether a refresh could work without
    // asking for one (the dashboard then skips a refresh bound to fail at its first load).
    const refreshCookie = getCookie(c, REFRESH_COOKIE) !== undefined;
    return c.json({ ...(await service().status()), refresh_cookie: refreshCookie });
  });

  app.get("/api/auth/setup", async (c) => {
    const status = await service().status();
    if (!status.setup_required) {
      throw new AppError("AUTH_SETUP_CLOSED", "Setup is complete; sign in instead", {
        status: 410,
      });
    }
    return c.json({
      setup_required: true,
      setup_token_required: true,
      username_pattern: USERNAME_PATTERN.source,
      password: { min_length: 12, max_length: 128 },
    });
  });

  app.post("/api/auth/setup", async (c) => {
    const body = await readJson(c, setupBody);
    const issued = await service().setup({
      setupToken: body.setup_token,
      username: body.username,
      password: body.password,
    });
    c.header("Location", `/api/users/${issued.bundle.user.username}`);
    return answer(c, issued, body.session, 201);
  });

  app.post("/api/auth/login", async (c) => {
    const body = await readJson(c, loginBody);
    const issued = await service().login({
      username: body.username,
      password: body.password,
      ip: c.get("clientIp") ?? peerIp(c),
    });
    return answer(c, issued, body.session);
  });

  app.post("/api/auth/refresh", async (c) => {
    const body = await readJson(c, refreshBody);
    let token = body.refresh_token;
    let mode = body.session;
    if (token === undefined) {
      // The cookie is accepted only with a JSON body: a cross-site form cannot send one.
      if (!/^application\/json\b/i.test(c.req.header("content-type") ?? "")) {
        throw new AppError("UNSUPPORTED_MEDIA_TYPE", "The body must be application/json", {
          status: 415,
        });
      }
      token = getCookie(c, REFRESH_COOKIE);
      mode ??= "cookie";
      if (!token) {
        throw new AppError("VALIDATION_FAILED", "Send refresh_token or the refresh cookie", {
          status: 400,
          field: "refresh_token",
        });
      }
    }
    return answer(c, await service().refresh(token), mode);
  });

  app.post("/api/auth/logout", async (c) => {
    requireRole(c, "viewer");
    const principal = principalOf(c);
    // A key is no sign-in: there is nothing to end, and "Logged out" would leave it working.
    if (principal.auth === "api_key") {
      throw new AppError(
        "AUTH_KEY_NOT_A_SESSION",
        "An API key cannot sign out; revoke it instead (DELETE /api/keys/{id})",
        { status: 409 },
      );
    }
    await service().logout(principal);
    deleteCookie(c, REFRESH_COOKIE, { path: "/api/auth" });
    return c.json({ success: true, message: "Logged out" });
  });

  app.get("/api/auth/me", async (c) => {
    requireRole(c, "viewer");
    const principal = principalOf(c);
    if (!options.enabled) {
      return c.json({
        id: principal.userId,
        username: principal.userId,
        role: principal.role,
        active: true,
        created_at: null,
        last_login: null,
        auth: "none",
      });
    }
    const user = await service().getUser(principal.username ?? "");
    return c.json({ ...user, role: principal.role, auth: principal.auth });
  });

  app.put("/api/auth/me/password", async (c) => {
    requireRole(c, "viewer");
    const body = await readJson(c, passwordBody);
    const issued = await service().changeOwnPassword(
      principalOf(c),
      body.current_password,
      body.new_password,
      c.get("clientIp") ?? peerIp(c),
    );
    return answer(c, issued, undefined);
  });

  app.delete("/api/auth/lockouts/:username", (c) => {
    requireRole(c, "admin");
    // A name with nothing to lift is most likely mistyped: saying so beats a silent 204.
    if (!service().clearLockout(c.req.param("username"))) {
      throw new AppError(
        "AUTH_LOCKOUT_NOT_FOUND",
        "This username has no lockout and no recent failed sign-ins",
        { status: 404, field: "username" },
      );
    }
    return c.body(null, 204);
  });

  app.get("/api/users", async (c) => {
    requireRole(c, "admin");
    return c.json({ success: true, users: await service().listUsers() });
  });

  app.post("/api/users", async (c) => {
    requireRole(c, "admin");
    const body = await readJson(c, newUserBody);
    const user = await service().createUser(body);
    c.header("Location", `/api/users/${user.username}`);
    return c.json({ success: true, message: `User '${user.username}' created`, user }, 201);
  });

  app.get("/api/users/:username", async (c) => {
    requireRole(c, "admin");
    return c.json(await service().getUser(c.req.param("username")));
  });

  app.patch("/api/users/:username", async (c) => {
    requireRole(c, "admin");
    const body = await readJson(c, patchUserBody);
    return c.json(await service().setActive(c.req.param("username"), body.active));
  });

  app.delete("/api/users/:username", async (c) => {
    requireRole(c, "admin");
    await service().deleteUser(c.req.param("username"), { actor: principalOf(c).userId });
    return c.body(null, 204);
  });

  app.put("/api/users/:username/password", async (c) => {
    requireRole(c, "admin");
    const body = await readJson(c, setPasswordBody);
    await service().setPassword(c.req.param("username"), body.password);
    return c.json({ success: true, message: "Password updated; the user's sessions ended" });
  });

  app.put("/api/users/:username/role", async (c) => {
    requireRole(c, "admin");
    const body = await readJson(c, setRoleBody);
    const user = await service().setRole(c.req.param("username"), body.role);
    return c.json({ success: true, message: `Role updated to ${user.role}`, user });
  });

  app.get("/api/keys", async (c) => {
    requireRole(c, "viewer");
    const query = readQuery(c, keysQuery);
    const principal = principalOf(c);
    if (query.all === "true") requireRole(c, "admin");
    const items = await service().listKeys(query.all === "true" ? null : principal.userId);
    return c.json({ items, next_cursor: null });
  });

  app.post("/api/keys", async (c) => {
    requireRole(c, "viewer");
    const body = await readJson(c, newKeyBody);
    const key = await service().createKey(principalOf(c), {
      name: body.name,
      role: body.role,
      expiresInDays: body.expires_in_days,
    });
    c.header("Location", `/api/keys/${key.id}`);
    return c.json(key, 201);
  });

  app.delete("/api/keys/:id", async (c) => {
    requireRole(c, "viewer");
    await service().deleteKey(principalOf(c), c.req.param("id"));
    return c.body(null, 204);
  });

  return app;
}

const USER = z.object({
  id: z.string(),
  username: z.string(),
  role,
  active: z.boolean(),
  created_at: z.string().nullable().describe("null for the built-in local user (auth off)"),
  last_login: z.string().nullable(),
});
const TOKEN_BUNDLE = z.object({
  success: z.literal(true),
  access_token: z.string(),
  refresh_token: z.string().optional().describe("absent in cookie mode"),
  token_type: z.literal("bearer"),
  expires_in: z.number().int(),
  refresh_expires_in: z.number().int(),
  user: z.object({ id: z.string(), username: z.string(), role }),
});
const API_KEY = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  role,
  user_id: z.string(),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
  key: z.string().optional().describe("only in the answer that created it"),
});
const OK_MESSAGE = z.object({ success: z.literal(true), message: z.string() });
const tags = ["auth"];
const users = ["users"];

/** The document's view of these routes (the handlers validate with the same schemas). */
const OPERATIONS = [
  {
    method: "get",
    path: "/api/auth/status",
    summary: "Whether sign-in is on and first-run setup is open",
    tags,
    role: "public",
    responses: {
      200: {
        description: "Status",
        schema: z.object({
          enabled: z.boolean(),
          setup_required: z.boolean(),
          setup_token_required: z.boolean(),
          message: z.string(),
          refresh_cookie: z.boolean().meta({
            description:
              "Whether the request carried the refresh cookie (its value is not checked)",
          }),
        }),
      },
    },
  },
  {
    method: "get",
    path: "/api/auth/setup",
    summary: "The setup form's rules while setup is open (410 after)",
    tags,
    role: "public",
    responses: {
      200: {
        description: "Setup is open: the form's rules",
        schema: z.object({
          setup_required: z.literal(true),
          setup_token_required: z.boolean(),
          username_pattern: z.string(),
          password: z.object({ min_length: z.number().int(), max_length: z.number().int() }),
        }),
      },
      410: { description: "Setup is complete" },
    },
  },
  {
    method: "post",
    path: "/api/auth/setup",
    summary: "Create the first administrator with the one-time setup token",
    tags,
    role: "public",
    body: setupBody,
    errors: [403],
    responses: {
      201: { description: "Created and signed in", schema: TOKEN_BUNDLE },
      410: { description: "Setup is complete" },
    },
  },
  {
    method: "post",
    path: "/api/auth/login",
    summary: "Sign in",
    tags,
    role: "public",
    body: loginBody,
    errors: [401],
    responses: { 200: { description: "Signed in", schema: TOKEN_BUNDLE } },
  },
  {
    method: "post",
    path: "/api/auth/refresh",
    summary: "Rotate a refresh token (body or cookie) for a new pair",
    tags,
    role: "public",
    body: refreshBody,
    errors: [401],
    responses: { 200: { description: "A new pair", schema: TOKEN_BUNDLE } },
  },
  {
    method: "post",
    path: "/api/auth/logout",
    summary: "End this login and its access token",
    tags,
    role: "viewer",
    responses: { 200: { description: "Signed out", schema: OK_MESSAGE } },
  },
  {
    method: "get",
    path: "/api/auth/me",
    summary: "The caller's account",
    tags,
    role: "viewer",
    responses: { 200: { description: "The caller", schema: USER.extend({ auth: z.string() }) } },
  },
  {
    method: "put",
    path: "/api/auth/me/password",
    summary: "Change one's own password (a signed-in session); other logins end",
    tags,
    role: "viewer",
    body: passwordBody,
    responses: { 200: { description: "Changed; a fresh pair", schema: TOKEN_BUNDLE } },
  },
  {
    method: "delete",
    path: "/api/auth/lockouts/:username",
    summary: "Lift a username's sign-in lockout",
    tags,
    role: "admin",
    responses: { 204: { description: "Lifted; its failed sign-ins are forgotten too" } },
  },
  {
    method: "get",
    path: "/api/users",
    summary: "Every user",
    tags: users,
    role: "admin",
    responses: {
      200: {
        description: "Users",
        schema: z.object({ success: z.literal(true), users: z.array(USER) }),
      },
    },
  },
  {
    method: "post",
    path: "/api/users",
    summary: "Create a user",
    tags: users,
    role: "admin",
    body: newUserBody,
    responses: {
      201: { description: "Created", schema: OK_MESSAGE.extend({ user: USER }) },
    },
  },
  {
    method: "get",
    path: "/api/users/:username",
    summary: "One user",
    tags: users,
    role: "admin",
    responses: { 200: { description: "The user", schema: USER } },
  },
  {
    method: "patch",
    path: "/api/users/:username",
    summary: "Activate or deactivate (deactivation ends their logins)",
    tags: users,
    role: "admin",
    body: patchUserBody,
    responses: { 200: { description: "Updated", schema: USER } },
  },
  {
    method: "delete",
    path: "/api/users/:username",
    summary:
      "Delete a user and forget their memories, threads and key-value rows (never the last administrator)",
    tags: users,
    role: "admin",
    responses: { 204: { description: "Deleted" } },
  },
  {
    method: "put",
    path: "/api/users/:username/password",
    summary: "Set a user's password; their logins end",
    tags: users,
    role: "admin",
    body: setPasswordBody,
    responses: { 200: { description: "Set", schema: OK_MESSAGE } },
  },
  {
    method: "put",
    path: "/api/users/:username/role",
    summary: "Set a user's role; their logins end",
    tags: users,
    role: "admin",
    body: setRoleBody,
    responses: { 200: { description: "Set", schema: OK_MESSAGE.extend({ user: USER }) } },
  },
  {
    method: "get",
    path: "/api/keys",
    summary: "The caller's API keys (all with ?all=true for administrators)",
    tags: ["keys"],
    role: "viewer",
    query: keysQuery,
    responses: {
      200: {
        description: "Keys",
        schema: z.object({ items: z.array(API_KEY), next_cursor: z.string().nullable() }),
      },
    },
  },
  {
    method: "post",
    path: "/api/keys",
    summary: "Create an API key (a signed-in session; the key is shown once)",
    tags: ["keys"],
    role: "viewer",
    body: newKeyBody,
    responses: { 201: { description: "Created", schema: API_KEY } },
  },
  {
    method: "delete",
    path: "/api/keys/:id",
    summary: "Delete an API key (its sockets close)",
    tags: ["keys"],
    role: "viewer",
    responses: { 204: { description: "Deleted" } },
  },
] as const satisfies readonly Operation[];
