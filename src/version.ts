import denoConfig from "../deno.json" with { type: "json" };

/** The application version; `deno.json` is its single source. */
export const VERSION: string = denoConfig.version;
