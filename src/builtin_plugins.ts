import { memoryPlugin, reembedCommand } from "../plugins/memory/mod.ts";
import { psycheAssurancePlugin } from "../plugins/psyche_assurance/mod.ts";
import { psycheCalibrationPlugin } from "../plugins/psyche_calibration/mod.ts";
import { psycheDreamingPlugin } from "../plugins/psyche_dreaming/mod.ts";
import { psychePurposePlugin } from "../plugins/psyche_purpose/mod.ts";
import { psycheReflectionPlugin } from "../plugins/psyche_reflection/mod.ts";
import { timerTool } from "../plugins/tool_timer/mod.ts";
import type { AnyPluginCommand } from "./plugin/command.ts";
import type { AnyPlugin } from "./plugin/types.ts";

/**
 * The first-party plugins the server loads, in no particular order (the
 * host sorts them by `dependsOn`). The psychological modules, GDIL and the
 * tools join this list as they land.
 */
export const BUILTIN_PLUGINS: readonly AnyPlugin[] = [
  memoryPlugin,
  psycheAssurancePlugin,
  psycheCalibrationPlugin,
  psycheDreamingPlugin,
  psychePurposePlugin,
  psycheReflectionPlugin,
  timerTool,
];

/** CLI subcommands of the built-in plugins (`deno task reembed`). */
export const BUILTIN_COMMANDS: Readonly<Record<string, AnyPluginCommand>> = {
  reembed: reembedCommand,
};
