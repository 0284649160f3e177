/**
 * No acknowledged write is lost when the server is killed with SIGKILL in
 * the middle of a burst of writes.
 */
import assert from "node:assert/strict";
import { makeTestDir, spawnServer } from "@synth/testing";

Deno.test("SIGKILL during a burst of writes loses no acknowledged write", async () => {
  const dataDir = await makeTestDir("synth-durability-");
  try {
    const server = await spawnServer({ dataDir });
    const acknowledged: string[] = [];
    const killAfter = 150;
    let killed = false;
    const writer = async (worker: number) => {
      for (let i = 0; !killed; i++) {
        try {
          const response = await fetch(`${server.url}/api/memories`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              text: `Burst fact ${worker}-${i}: the ${i}th item of writer ${worker}.`,
            }),
          });
          if (response.status === 201) acknowledged.push((await response.json()).id);
          else await response.body?.cancel();
        } catch {
          return; // the server is gone
        }
        if (acknowledged.length >= killAfter && !killed) {
          killed = true;
          server.process.kill("SIGKILL");
        }
      }
    };
    await Promise.all([1, 2, 3, 4].map(writer));
    const status = await server.status;
    assert.equal(status.signal, "SIGKILL");
    assert.ok(acknowledged.length >= killAfter);

    await using restarted = await spawnServer({ dataDir });
    const missing: string[] = [];
    for (const id of acknowledged) {
      const response = await fetch(`${restarted.url}/api/memories/${id}`);
      if (response.status !== 200) missing.push(id);
      await response.body?.cancel();
    }
    assert.deepEqual(
      missing,
      [],
      `${missing.length} of ${acknowledged.length} acknowledged writes were lost`,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
