/**
 * An example third-party plugin (spec/tools.md §9): the tool `roll` (exposed
 * as `dice__roll`), a count of `turn.completed` events, and a prompt note
 * "Dice rolled N times this session". It needs no permissions. List it in
 * the config file:
 *
 * ```jsonc
 * { "plugins": [{ "id": "dice", "from": "./examples/plugins/dice/mod.ts", "config": { "maxSides": 100 } }] }
 * ```
 *
 * It runs in its own sandbox process; only `import type` from the kernel
 * (bundled away), no npm or remote imports.
 *
 * @module
 */
import type { PluginApi, PluginModuleManifest } from "@synth/kernel";

export const manifest: PluginModuleManifest = {
  id: "dice",
  version: "1.0.0",
  host: "^1.0.0",
  permissions: {},
  tools: [{
    name: "roll",
    description:
      "Roll dice: `count` dice (1–20) with `sides` sides each; returns each die and the sum.",
    risk: "safe",
    timeoutMs: 2_000,
    parameters: {
      type: "object",
      additionalProperties: false,
      required: ["sides"],
      properties: {
        sides: { type: "integer", minimum: 2, maximum: 1000 },
        count: { type: "integer", minimum: 1, maximum: 20 },
      },
    },
  }],
  events: ["turn.completed"],
  promptFragments: true,
};

/** Called once in the sandbox with the plugin API. */
export function activate(api: PluginApi): void {
  const maxSides = Number(api.config.maxSides ?? 1000);
  let rolls = 0;
  let turns = 0;
  api.tool("roll", (args) => {
    const sides = Number(args.sides);
    const count = Number(args.count ?? 1);
    if (sides > maxSides) {
      throw Object.assign(new Error(`At most ${maxSides} sides`), {
        code: "TOOLS_DICE_TOO_MANY_SIDES",
      });
    }
    const dice = Array.from({ length: count }, () => 1 + Math.floor(Math.random() * sides));
    rolls++;
    return { dice, sum: dice.reduce((total, die) => total + die, 0), rolls };
  });
  api.on("turn.completed", () => {
    turns++;
  });
  api.fragments(() => [{
    text: `Dice rolled ${rolls} times this session (${turns} turns seen).`,
    priority: 5,
  }]);
}
