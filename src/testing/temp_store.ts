import { openStore, type Store } from "../store/store.ts";
import { FakeClock } from "./fake_clock.ts";
import { createMemoryLogger } from "./memory_log.ts";
import { makeTestDir } from "./paths.ts";

/**
 * Runs `fn` with a migrated store in a fresh test folder (a fake clock, a
 * log kept in memory), then closes the store and removes the folder.
 */
export async function withTempStore(
  prefix: string,
  fn: (store: Store) => Promise<void>,
): Promise<void> {
  const dataDir = await makeTestDir(prefix);
  const store = openStore({
    dataDir,
    busyTimeoutMs: 1_000,
    clock: new FakeClock(),
    log: createMemoryLogger().log,
    migrate: true,
  });
  try {
    await fn(store);
  } finally {
    await store.close();
    await Deno.remove(dataDir, { recursive: true });
  }
}
