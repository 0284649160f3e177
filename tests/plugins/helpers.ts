/**
 * What the third-party plugin tests share: JSON calls to a test host, a
 * plugin's view, and waiting for a plugin's state.
 *
 * @module
 */
import type { TestHost } from "@synth/testing";
import type { ExternalPluginView } from "../../src/plugin/external/host.ts";
import { api as json } from "../projects/helpers.ts";

/** A JSON request to a test host: its status and parsed body. */
export { json };

/** `GET /api/plugins/{id}`. */
export const pluginView = async (host: TestHost, id: string): Promise<ExternalPluginView> =>
  (await json(host, "GET", `/api/plugins/${id}`)).body as ExternalPluginView;

/** Resolves when plugin `id` reaches `state` (a `plugin.state` event). */
export function reaches(host: TestHost, id: string, state: string): Promise<void> {
  const { promise, resolve } = Promise.withResolvers<void>();
  const stop = host.kernel.bus.subscribe("plugin.state", (event) => {
    const data = event.data as { id: string; state: string };
    if (data.id === id && data.state === state) {
      stop();
      resolve();
    }
  });
  return promise;
}
