import { memoryPlugin } from "../plugins/memory/mod.ts";
import type { AnyPlugin } from "./plugin/types.ts";

/**
 * The first-party plugins the server loads, in no particular order (the
 * host sorts them by `dependsOn`). The psychological modules, GDIL and the
 * tools join this list as they land.
 */
export const BUILTIN_PLUGINS: readonly AnyPlugin[] = [memoryPlugin];
