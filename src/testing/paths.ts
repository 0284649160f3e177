import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, where `deno.json` lives. */
export const REPO_DIR: string = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/**
 * Where tests keep their temporary data directories: inside `./data`, the
 * only place the `server` and `test` permission sets may write, so tests
 * do not depend on the system's temporary directory.
 */
export const TEST_DATA_ROOT: string = join(REPO_DIR, "data", ".test");

/** Creates a fresh directory under {@link TEST_DATA_ROOT} (mode 0700). */
export async function makeTestDir(prefix = "synth-test-"): Promise<string> {
  await Deno.mkdir(TEST_DATA_ROOT, { recursive: true, mode: 0o700 });
  return await Deno.makeTempDir({ dir: TEST_DATA_ROOT, prefix });
}
