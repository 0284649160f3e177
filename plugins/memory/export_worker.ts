/// <reference lib="deno.worker" />
/**
 * Runs an export on its own read-only connection, so a long export never
 * blocks the server's event loop or its writer connection. Receives an
 * {@link ExportJob}; posts `{type: "lines", lines}` batches and a final
 * `{type: "done"}` (or `{type: "error", message}`).
 *
 * @module
 */
import { openStoreReader } from "@synth/kernel";
import { type ExportJob, exportLines } from "./transfer_format.ts";

self.onmessage = async (event: MessageEvent<ExportJob>) => {
  const reader = openStoreReader(event.data.path, { busyTimeoutMs: 5_000 });
  try {
    let batch: string[] = [];
    for await (const line of exportLines(reader.db, event.data)) {
      batch.push(line);
      if (batch.length >= 500) {
        self.postMessage({ type: "lines", lines: batch });
        batch = [];
      }
    }
    if (batch.length > 0) self.postMessage({ type: "lines", lines: batch });
    self.postMessage({ type: "done" });
  } catch (error) {
    self.postMessage({
      type: "error",
      message: error instanceof Error ? error.message : String(error),
    });
  } finally {
    await reader.close();
  }
};
