/**
 * A project's version control (spec/projects.md §9, §16 item 18): off by
 * default (no `.git`); on, with the server's data directory inside another
 * git repository, that repository's HEAD, branches and status stay as they
 * were while the workspace gains commits, and a rollback restores earlier
 * contents and leaves the backup branch. Git runs in the sandbox.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeTestDir } from "@synth/testing";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { api, projectHost, turnEnd, writes } from "./helpers.ts";

/** Runs git with a clean environment (no user config) and returns stdout. */
async function git(dir: string, ...args: string[]): Promise<string> {
  const output = await new Deno.Command("git", {
    args: ["-C", dir, ...args],
    clearEnv: true,
    env: {
      PATH: "/usr/bin:/bin",
      GIT_CONFIG_NOSYSTEM: "1",
      GIT_CONFIG_GLOBAL: "/dev/null",
      GIT_AUTHOR_NAME: "Outer",
      GIT_AUTHOR_EMAIL: "outer@example.com",
      GIT_COMMITTER_NAME: "Outer",
      GIT_COMMITTER_EMAIL: "outer@example.com",
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  return new TextDecoder().decode(output.stdout);
}

/** HEAD, branches and status of a repository. */
async function snapshot(dir: string) {
  return {
    head: (await git(dir, "rev-parse", "HEAD")).trim(),
    branches: await git(dir, "branch", "--list"),
    status: await git(dir, "status", "--porcelain"),
  };
}

Deno.test("version control: off by default; on, the workspace gains commits, the surrounding repository is untouched, and a rollback restores earlier files and leaves a backup branch", async () => {
  const outer = await makeTestDir("synth-vcs-outer-");
  try {
    await git(outer, "init", "--quiet", "--initial-branch=trunk");
    await Deno.writeTextFile(join(outer, "README"), "the surrounding repository\n");
    await Deno.writeTextFile(join(outer, ".gitignore"), "data/\n");
    await git(outer, "add", "--all");
    await git(outer, "commit", "--quiet", "-m", "outer: first");
    const before = await snapshot(outer);

    await using fake = await startFakeLlm();
    fake.script({
      execute: [
        ...writes({ "app.txt": "version 1\n" }, 0.5),
        ...writes({ "app.txt": "version 2\n", "extra.txt": "added later\n" }, 1),
      ],
    });
    await using host = await projectHost(fake, {
      dataDir: join(outer, "data"),
      config: { tools: { approval: { threshold: "execute" } } },
    });

    // Off by default: no repository, and the git routes say so.
    const plain = await api(host, "POST", "/api/projects", { template_id: "cli-tool" });
    assert.equal(plain.body.project.vcs, false);
    const plainId = plain.body.project.id as string;
    await assert.rejects(Deno.stat(join(host.dataDir, "projects", plainId, "git")));
    const disabled = await api(host, "GET", `/api/projects/${plainId}/vcs/log`);
    assert.equal(disabled.status, 409);
    assert.equal(disabled.body.error.code, "GDIL_VCS_DISABLED");
    await api(host, "POST", `/api/projects/${plainId}/archive`, {});

    const created = await api(host, "POST", "/api/projects", {
      template_id: "cli-tool",
      vcs: true,
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.project.vcs, true);
    const id = created.body.project.id as string;
    const workspace = join(host.dataDir, "projects", id, "workspace");
    // The repository sits beside the workspace, out of the file tools' reach.
    const gitDir = join(host.dataDir, "projects", id, "git");
    assert.ok((await Deno.stat(join(gitDir, "HEAD"))).isFile);
    await assert.rejects(Deno.stat(join(workspace, ".git")), Deno.errors.NotFound);
    assert.deepEqual((await api(host, "GET", `/api/projects/${id}/vcs/log`)).body, {
      commits: [],
    });

    await turnEnd(
      host,
      (await api(host, "POST", `/api/projects/${id}/input`, { intent: "skip" })).body.turn_id,
    );
    for (let step = 0; step < 2; step++) {
      const turn = await api(host, "POST", `/api/projects/${id}/input`, { intent: "continue" });
      assert.equal((await turnEnd(host, turn.body.turn_id)).status, "completed");
    }
    assert.equal(await Deno.readTextFile(join(workspace, "app.txt")), "version 2\n");

    const log = (await api(host, "GET", `/api/projects/${id}/vcs/log`)).body.commits;
    const task = (await api(host, "GET", `/api/projects/${id}`)).body.tasks[0];
    assert.deepEqual(log.map((commit: { subject: string }) => commit.subject), [
      `feat(${task.key}): completed`,
      `wip(${task.key}): iteration 1`,
    ]);
    assert.match(log[0].hash, /^[0-9a-f]{40}$/);
    assert.ok(!Number.isNaN(Date.parse(log[0].at)));
    const events = (await api(host, "GET", `/api/projects/${id}/events?limit=200`)).body.items;
    assert.deepEqual(
      events.filter((event: { type: string }) => event.type === "vcs.commit")
        .map((event: { data: { hash: string } }) => event.data.hash),
      [log[1].hash, log[0].hash],
    );

    // The surrounding repository saw none of it.
    assert.deepEqual(await snapshot(outer), before);

    // Bad commits: not a hash, and a hash that is not in the history.
    for (const commit of ["--help", "0000000000000000000000000000000000000000"]) {
      const refused = await api(host, "POST", `/api/projects/${id}/vcs/rollback`, { commit });
      assert.equal(refused.status, 404, commit);
      assert.equal(refused.body.error.code, "GDIL_VCS_UNKNOWN_COMMIT");
    }

    // A file no step committed (a step that failed after writing) goes onto the backup branch.
    await Deno.writeTextFile(join(workspace, "uncommitted.txt"), "not in any commit yet\n");
    const rolled = await api(host, "POST", `/api/projects/${id}/vcs/rollback`, {
      commit: log[1].hash.slice(0, 10),
    });
    assert.equal(rolled.status, 200, JSON.stringify(rolled.body));
    assert.equal(rolled.body.head, log[1].hash);
    assert.match(rolled.body.backup_branch, /^backup\/\d{8}T\d{6}Z$/);
    assert.equal(await Deno.readTextFile(join(workspace, "app.txt")), "version 1\n");
    await assert.rejects(Deno.stat(join(workspace, "extra.txt")), Deno.errors.NotFound);
    const branches = await git(gitDir, "branch", "--list");
    assert.match(branches, new RegExp(`${rolled.body.backup_branch.replace("/", "\\/")}`));
    assert.equal(
      await git(gitDir, "show", `${rolled.body.backup_branch}:uncommitted.txt`),
      "not in any commit yet\n",
      "the backup branch keeps the state before the rollback, uncommitted files too",
    );
    assert.equal(
      (await git(gitDir, "rev-parse", `${rolled.body.backup_branch}~1`)).trim(),
      log[0].hash,
    );
    await assert.rejects(Deno.stat(join(workspace, "uncommitted.txt")), Deno.errors.NotFound);
    const after = (await api(host, "GET", `/api/projects/${id}/events?limit=200`)).body.items;
    assert.equal(after.at(-1).type, "vcs.rollback");
    assert.deepEqual(await snapshot(outer), before);
  } finally {
    await Deno.remove(outer, { recursive: true });
  }
});

Deno.test("version control without git: the project goes on without it and a notice says so", async () => {
  await using fake = await startFakeLlm();
  await using host = await projectHost(fake, {
    config: { gdil: { vcs: { searchPath: "/nonexistent" } } },
  });
  const notices: string[] = [];
  host.kernel.bus.subscribe("notice", (event) => {
    notices.push(event.data.code);
  });
  const created = await api(host, "POST", "/api/projects", { template_id: "cli-tool", vcs: true });
  assert.equal(created.status, 201);
  assert.equal(created.body.project.vcs, false);
  assert.deepEqual(notices, ["GDIL_VCS_OFF"]);
  const id = created.body.project.id as string;
  await assert.rejects(Deno.stat(join(host.dataDir, "projects", id, "git", "HEAD")));
});
