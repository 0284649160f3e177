import { memoryPlugin, reembedCommand } from "../plugins/memory/mod.ts";
import { gdilPlugin } from "../plugins/gdil/mod.ts";
import { psycheAssurancePlugin } from "../plugins/psyche_assurance/mod.ts";
import { psycheCalibrationPlugin } from "../plugins/psyche_calibration/mod.ts";
import { psycheDreamingPlugin } from "../plugins/psyche_dreaming/mod.ts";
import { psychePurposePlugin } from "../plugins/psyche_purpose/mod.ts";
import { psycheReflectionPlugin } from "../plugins/psyche_reflection/mod.ts";
import { calculatorTool } from "../plugins/tool_calculator/mod.ts";
import { codeExecuteTool } from "../plugins/tool_code_execute/mod.ts";
import { fileListTool } from "../plugins/tool_file_list/mod.ts";
import { fileReadTool } from "../plugins/tool_file_read/mod.ts";
import { fileWriteTool } from "../plugins/tool_file_write/mod.ts";
import { httpFetchTool } from "../plugins/tool_http_fetch/mod.ts";
import { jsonParseTool } from "../plugins/tool_json_parse/mod.ts";
import { shellRunTool } from "../plugins/tool_shell_run/mod.ts";
import { timerTool } from "../plugins/tool_timer/mod.ts";
import { webSearchTool } from "../plugins/tool_web_search/mod.ts";
import type { AnyPluginCommand } from "./plugin/command.ts";
import type { AnyPlugin } from "./plugin/types.ts";

/**
 * The first-party plugins the server loads, in no particular order (the
 * host sorts them by `dependsOn`). The psychological modules, GDIL and the
 * tools join this list as they land.
 */
export const BUILTIN_PLUGINS: readonly AnyPlugin[] = [
  memoryPlugin,
  gdilPlugin,
  psycheAssurancePlugin,
  psycheCalibrationPlugin,
  psycheDreamingPlugin,
  psychePurposePlugin,
  psycheReflectionPlugin,
  // The ten tools, in the order `/tools` lists them.
  calculatorTool,
  timerTool,
  webSearchTool,
  httpFetchTool,
  codeExecuteTool,
  fileReadTool,
  fileWriteTool,
  fileListTool,
  shellRunTool,
  jsonParseTool,
];

/** CLI subcommands of the built-in plugins (`deno task reembed`). */
export const BUILTIN_COMMANDS: Readonly<Record<string, AnyPluginCommand>> = {
  reembed: reembedCommand,
};
