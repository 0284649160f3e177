import assert from "node:assert/strict";
import { makeTestDir } from "../testing/paths.ts";
import { DB_ERROR_CODES, DbError } from "./errors.ts";
import { acquireDataDirLock, isDataDirLocked } from "./lock.ts";

Deno.test("one holder of the data-directory lock at a time, free again after release", async () => {
  const dir = await makeTestDir("synth-lock-");
  try {
    const lock = await acquireDataDirLock(dir);
    assert.equal(await isDataDirLocked(dir), true);
    await assert.rejects(
      () => acquireDataDirLock(dir),
      (error: unknown) =>
        error instanceof DbError && error.code === DB_ERROR_CODES.DATA_DIR_IN_USE &&
        error.message.includes("another Synth Mind process is using it"),
    );
    lock.release();
    assert.equal(await isDataDirLocked(dir), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
