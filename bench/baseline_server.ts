/**
 * The baseline for `deno task bench`: a bare `Deno.serve` answering the same
 * JSON as `/health/live`, with no framework, middleware or plugins. The
 * ratio against it shows what the kernel costs.
 */
import { BASELINE_LISTEN } from "./baseline_listen.ts";
Deno.serve(
  BASELINE_LISTEN,
  () => Response.json({ status: "alive", timestamp: new Date().toISOString() }),
);
