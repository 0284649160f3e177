/**
 * A test host with authentication on (cheap scrypt for speed) and helpers to
 * set up the first administrator, add users and sign in.
 */
import assert from "node:assert/strict";
import { createTestHost, type TestHost } from "@synth/testing";
import { BUILTIN_PLUGINS } from "../../src/builtin_plugins.ts";

/** A password that passes the policy. */
export const PASSWORD = "correct horse battery";

/** A host with auth enabled (on `dataDir` when given, which it then keeps). */
export async function authHost(
  config: Record<string, unknown> & { dataDir?: string } = {},
): Promise<TestHost> {
  const { dataDir, ...rest } = config;
  return await createTestHost({
    plugins: BUILTIN_PLUGINS,
    ...(dataDir ? { dataDir } : {}),
    config: {
      ...rest,
      auth: { enabled: true, password: { scryptLogN: 14 }, ...(rest.auth as object ?? {}) },
    },
  });
}

/** JSON request helper: method, path, body and optional bearer token. */
export async function call(
  host: TestHost,
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const response = await host.request(path, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {}, headers: response.headers };
}

/** Completes setup as `admin`; returns its token bundle. */
export async function setupAdmin(host: TestHost): Promise<Record<string, unknown>> {
  const token = host.kernel.setupToken;
  assert.ok(token, "setup is open with a printed token");
  const setup = await call(host, "POST", "/api/auth/setup", {
    body: { setup_token: token, username: "admin", password: PASSWORD },
  });
  assert.equal(setup.status, 201, JSON.stringify(setup.body));
  return setup.body;
}

/** Creates a user (as `adminToken`) and signs them in; returns their bundle. */
export async function userWithRole(
  host: TestHost,
  adminToken: string,
  username: string,
  role: "viewer" | "operator" | "admin",
): Promise<Record<string, unknown>> {
  const created = await call(host, "POST", "/api/users", {
    token: adminToken,
    body: { username, password: PASSWORD, role },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const login = await call(host, "POST", "/api/auth/login", {
    body: { username, password: PASSWORD },
  });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  return login.body;
}
