/**
 * What the third-party plugin tests share: JSON calls to a test host, a
 * plugin's view, and waiting for a plugin's state.
 *
 * @module
 */
import type { TestHost } from "@synth/testing";
import type { ExternalPluginView } from "../../src/plugin/external/host.ts";

/** A JSON request to the host: its status and parsed body. */
export async function json(
  host: TestHost,
  method: string,
  path: string,
  body?: unknown,
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any }> {
  const response = await host.request(path, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

/** `GET /api/plugins/{id}`. */
export const pluginView = async (host: TestHost, id: string): Promise<ExternalPluginView> =>
  (await json(host, "GET", `/api/plugins/${id}`)).body as ExternalPluginView;

/** Resolves when plugin `id` reaches `state` (a `plugin.state` event). */
export function reaches(host: TestHost, id: string, state: string): Promise<void> {
  const { promise, resolve } = Promise.withResolvers<void>();
  const stop = host.kernel.bus.subscribe("plugin.state", (event) => {
    if (event.data.id === id && event.data.state === state) {
      stop();
      resolve();
    }
  });
  return promise;
}
