/**
 * Backup and restore end to end (spec/ops.md §13, §15 item 8; issue 11
 * acceptance 3): back up a running server's data with `scripts/backup.sh`,
 * see `restore` refused (75) while it runs, restore with
 * `scripts/restore.sh` into another data directory that already has a
 * database (kept as `synth.db.pre-restore-*`), start a server there and
 * find the same threads and messages, memories, narrative and projects.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { makeTestDir, REPO_DIR, type SpawnedServer, spawnServer } from "@synth/testing";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { fakeEnv } from "../llm/helpers.ts";
import { EMPTY_CONFIG, runMain } from "./_cli.ts";
import { EXIT } from "../../src/cli/io.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

async function call(
  server: SpawnedServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<Any> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/** Everything the acceptance names, as the API shows it. */
async function snapshot(server: SpawnedServer): Promise<Any> {
  const threads = (await call(server, "GET", "/api/threads")).items;
  const messages: Record<string, Any> = {};
  for (const thread of threads) {
    messages[thread.id] = (await call(server, "GET", `/api/threads/${thread.id}/messages`)).items;
  }
  const projects = (await call(server, "GET", "/api/projects")).items;
  const projectDetails: Record<string, Any> = {};
  for (const project of projects) {
    projectDetails[project.id] = await call(server, "GET", `/api/projects/${project.id}`);
  }
  return {
    threads,
    messages,
    memories: (await call(server, "GET", "/api/memories?limit=100")).items,
    narrative: await call(server, "GET", "/api/narrative"),
    narrativeVersions: await call(server, "GET", "/api/narrative/versions"),
    projects,
    projectDetails,
  };
}

/** The snapshot once background work after the last request has settled. */
async function settled(server: SpawnedServer): Promise<Any> {
  let previous = JSON.stringify(await snapshot(server));
  for (let i = 0; i < 40; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const current = JSON.stringify(await snapshot(server));
    if (current === previous) return JSON.parse(current);
    previous = current;
  }
  throw new Error("the server kept changing its data for 10 s");
}

/** Runs one of the wrapper scripts with only what `deno task` needs from the environment. */
async function script(name: string, args: string[], env: Record<string, string>) {
  const passed: Record<string, string> = { DENO: Deno.execPath(), NO_COLOR: "1" };
  for (const variable of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(variable);
    if (value !== undefined) passed[variable] = value;
  }
  const output = await new Deno.Command("bash", {
    args: [join(REPO_DIR, "scripts", name), ...args],
    clearEnv: true,
    env: { ...passed, SYNTH_CONFIG: EMPTY_CONFIG, ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

Deno.test("a backup of a running server, restored into a new data directory, serves the same threads, memories, narrative and projects", async () => {
  await using fake = await startFakeLlm();
  const llm = fakeEnv(fake, ["openai"]);
  const original = await makeTestDir("synth-restore-from-");
  const target = await makeTestDir("synth-restore-to-");
  try {
    const source = await spawnServer({
      dataDir: original,
      // The purpose header lets the fake answer the rewrite with its scene.
      env: { ...llm, SYNTH_LLM_TEST_HEADERS: "true" },
    });
    let before: Any;
    let backupDir: string;
    try {
      const first = await call(source, "POST", "/api/chat", {
        message: "Hello, I am Ada and I like green tea.",
      });
      await call(source, "POST", "/api/chat", {
        message: "What do I like?",
        thread_id: first.thread_id,
      });
      await call(source, "POST", "/api/memories", { text: "Ada keeps her tea at 80 degrees." });
      await call(source, "POST", "/api/projects", { template_id: "cli-tool" });
      // A rewritten narrative (v2), then v1 restored as v3.
      const profile = parse(await Deno.readTextFile(join(REPO_DIR, "profiles", "empathetic.yaml")));
      fake.sceneFirst({
        match: { purpose: "narrative" },
        reply: { text: `${(profile as Any).identity.narrative} I keep learning.` },
      });
      const rewritten = await call(source, "POST", "/api/chat", {
        message: "/purpose rewrite --force",
      });
      assert.equal(rewritten.success, true, JSON.stringify(rewritten));
      await call(source, "POST", "/api/narrative/versions/1/restore");
      before = await settled(source);
      assert.ok(before.threads.length >= 2, "the chat's thread and the project's");
      assert.ok(before.messages[first.thread_id].length >= 4);
      assert.ok(
        before.memories.some((memory: Any) => memory.text === "Ada keeps her tea at 80 degrees."),
      );
      assert.deepEqual(before.narrativeVersions.items.map((v: Any) => v.version), [1, 2, 3]);
      assert.equal(before.narrative.version, 3);
      assert.equal(before.projects.length, 1);

      const backup = await script("backup.sh", [], { SYNTH_DATA_DIR: original });
      assert.equal(backup.code, 0, backup.stderr);
      const written = /backup written to (\S+) \(schema \d+, \d+ pages, integrity ok\)/.exec(
        backup.stdout,
      );
      assert.ok(written, backup.stdout);
      backupDir = written[1]!;
      const manifest = JSON.parse(await Deno.readTextFile(join(backupDir, "manifest.json")));
      assert.match(manifest.files["synth.db"], /^[0-9a-f]{64}$/);

      const refused = await runMain(["restore", backupDir], { SYNTH_DATA_DIR: original });
      assert.equal(refused.code, EXIT.DATA_DIR_IN_USE, refused.stderr);
      assert.match(refused.stderr, /Stop the server before restoring/);
      // Nothing changed after the backup was taken.
      assert.deepEqual(await snapshot(source), before);
    } finally {
      await source.stop();
    }

    // The target already has a database of its own, which restore must keep.
    const other = await spawnServer({ dataDir: target, env: llm });
    await other.stop();

    const restore = await script("restore.sh", [backupDir], { SYNTH_DATA_DIR: target });
    assert.equal(restore.code, 0, restore.stderr);
    assert.match(restore.stdout, /the previous database is kept as \S*synth\.db\.pre-restore-/);
    const kept = (await Array.fromAsync(Deno.readDir(target))).filter((entry) =>
      entry.name.startsWith("synth.db.pre-restore-")
    );
    assert.equal(kept.length, 1);

    await using restored = await spawnServer({ dataDir: target, env: llm });
    assert.deepEqual(await snapshot(restored), before);
  } finally {
    await Deno.remove(original, { recursive: true }).catch(() => {});
    await Deno.remove(target, { recursive: true }).catch(() => {});
  }
});

Deno.test("the restore wrapper prints its usage without a backup directory", async () => {
  const run = await script("restore.sh", [], {});
  assert.equal(run.code, 64);
  assert.match(run.stderr, /usage: scripts\/restore\.sh BACKUP_DIR/);
});
