import { z } from "zod";
import { configMeta } from "../../config/fields.ts";

const list = z.array(z.string().min(1).max(500)).max(64);

/**
 * One third-party plugin in the config file (spec/tools.md §9). The entry
 * is checked semantically when the plugin loads (pinned versions, scoped
 * grants), so a bad entry refuses that plugin with its reason instead of
 * stopping the server.
 */
export const PLUGIN_ENTRY = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9_]{0,47}$/, "must be snake_case, e.g. dice").meta(
    configMeta({ description: "The plugin's id: snake_case, unique." }),
  ),
  from: z.string().min(1).max(1_000).meta(configMeta({
    description:
      "A local path (relative to the config file's folder) or npm:<name>@<exact version>.",
  })),
  permissions: z.strictObject({
    net: list.optional(),
    read: list.optional(),
    write: list.optional(),
    env: list.optional(),
    run: list.optional(),
  }).default({}).meta(configMeta({
    description: "The grants: hosts (host or host:port), paths, variable names, absolute binaries.",
  })),
  config: z.record(z.string(), z.unknown()).default({}).meta(configMeta({
    description: "Passed to the plugin's activate(api) as api.config.",
  })),
  enabled: z.boolean().default(true),
  trustFragments: z.boolean().default(false).meta(configMeta({
    description: "Place the plugin's prompt notes as instructions instead of labelled data.",
  })),
});

/** A plugin entry of the config file. */
export type PluginEntry = z.output<typeof PLUGIN_ENTRY>;
