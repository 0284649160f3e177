import assert from "node:assert/strict";
import { join } from "node:path";
import { invokeTool, makeTestDir, toolsConfig } from "@synth/testing";
import type { ToolResult } from "@synth/kernel";
import { type FileListData, fileListTool } from "./mod.ts";
import { run as workerRun } from "./worker.ts";

const config = toolsConfig({});

interface Workspace {
  /** The workspace's real path. */
  ws: string;
  /** The test folder holding the workspace (outside it). */
  root: string;
  list(args: Record<string, unknown>): Promise<ToolResult>;
}

/** A workspace under ./data/.test; every result is checked to hold no host path. */
async function withWorkspace(fn: (w: Workspace) => Promise<void>): Promise<void> {
  const root = await Deno.realPath(await makeTestDir("file-list-"));
  try {
    await Deno.mkdir(join(root, "ws"));
    await Deno.mkdir(join(root, "empty"));
    const ws = await Deno.realPath(join(root, "ws"));
    const list = async (args: Record<string, unknown>) => {
      const result = await invokeTool(fileListTool.tool, args, {
        config,
        workspace: ws,
        emptyDir: join(root, "empty"),
      });
      assert.ok(!JSON.stringify(result).includes(root), `a host path in ${JSON.stringify(result)}`);
      return result;
    };
    await fn({ ws, root, list });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** Makes a symbolic link (the test permissions cannot use Deno.symlink). */
async function symlink(target: string, link: string): Promise<void> {
  const { success } = await new Deno.Command("ln", { args: ["-s", target, link] }).output();
  assert.ok(success, `ln -s ${target} ${link} failed`);
}

function errorCode(result: ToolResult): string | undefined {
  return result.ok ? undefined : result.error.code;
}

function listed(result: ToolResult): FileListData {
  assert.ok(result.ok, JSON.stringify(result));
  return result.data as FileListData;
}

/** Makes `a.txt` (5 bytes), `b/c.txt`, `b/d/e.txt` and a `.git` folder. */
async function makeTree(ws: string): Promise<void> {
  await Deno.writeTextFile(join(ws, "a.txt"), "hello");
  await Deno.mkdir(join(ws, "b", "d"), { recursive: true });
  await Deno.writeTextFile(join(ws, "b", "c.txt"), "c");
  await Deno.writeTextFile(join(ws, "b", "d", "e.txt"), "e");
  await Deno.mkdir(join(ws, ".git", "objects"), { recursive: true });
  await Deno.writeTextFile(join(ws, ".git", "HEAD"), "ref: refs/heads/main\n");
}

Deno.test("file_list lists a folder, recursively on request, skipping .git", async () => {
  await withWorkspace(async ({ ws, list }) => {
    await makeTree(ws);
    const top = listed(await list({}));
    assert.equal(top.path, ".");
    assert.equal(top.count, 2);
    assert.equal(top.truncated, false);
    const file = top.items[0]!;
    assert.deepEqual({ ...file, modifiedAt: null }, {
      name: "a.txt",
      path: "a.txt",
      type: "file",
      size: 5,
      modifiedAt: null,
    });
    const mtime = (await Deno.lstat(join(ws, "a.txt"))).mtime!;
    assert.equal(file.modifiedAt, mtime.toISOString());
    assert.deepEqual(top.items[1], { ...top.items[1], name: "b", path: "b", type: "dir", size: 0 });
    const all = listed(await list({ path: "b/", recursive: true }));
    assert.equal(all.path, "b");
    assert.deepEqual(all.items.map((item) => [item.path, item.type]), [
      ["b/c.txt", "file"],
      ["b/d", "dir"],
      ["b/d/e.txt", "file"],
    ]);
  });
});

Deno.test("file_list stops at maxEntries and says it truncated", async () => {
  await withWorkspace(async ({ ws, list }) => {
    await makeTree(ws);
    const result = await list({ recursive: true, maxEntries: 3 });
    const data = listed(result);
    assert.equal(result.ok && result.truncated, true);
    assert.equal(data.truncated, true);
    assert.equal(data.count, 3);
    assert.deepEqual(data.items.map((item) => item.path), ["a.txt", "b", "b/c.txt"]);
  });
});

Deno.test("file_list shows symlinks as symlink and never follows them (security row 10)", async () => {
  await withWorkspace(async ({ ws, list }) => {
    await symlink("/etc", join(ws, "link"));
    await symlink("/etc/hostname", join(ws, "f"));
    const data = listed(await list({ recursive: true }));
    assert.deepEqual(data.items.map(({ path, type, size }) => ({ path, type, size })), [
      { path: "f", type: "symlink", size: 0 },
      { path: "link", type: "symlink", size: 0 },
    ]);
    for (const path of ["link", "link/", "./link/ssl", "f"]) {
      assert.equal(errorCode(await list({ path })), "TOOLS_SYMLINK_REFUSED", path);
    }
  });
});

Deno.test("file_list refuses paths outside the workspace, .git and files", async () => {
  await withWorkspace(async ({ ws, list }) => {
    await makeTree(ws);
    const cases: Array<[string, string]> = [
      ["..", "TOOLS_PATH_OUTSIDE_WORKSPACE"],
      ["../..", "TOOLS_PATH_OUTSIDE_WORKSPACE"],
      ["/etc", "TOOLS_PATH_OUTSIDE_WORKSPACE"],
      [".git", "TOOLS_PATH_INVALID"],
      ["a.txt", "TOOLS_PATH_INVALID"],
      ["a.txt/x", "TOOLS_PATH_INVALID"],
      ["nowhere", "TOOLS_FILE_NOT_FOUND"],
    ];
    for (const [path, code] of cases) {
      assert.equal(errorCode(await list({ path })), code, path);
    }
  });
});

Deno.test("the file_list worker checks the path again in the sandbox", async () => {
  await withWorkspace(async ({ ws, root }) => {
    await Deno.mkdir(join(root, "outside"));
    await Deno.writeTextFile(join(root, "outside", "secret.txt"), "s");
    await Deno.mkdir(join(ws, "d"));
    await symlink(join(root, "outside"), join(ws, "d", "up"));
    const ctx = { workspace: ws, deadlineMs: 5_000, secrets: {}, limits: { maxOutputChars: 1 } };
    const cases: Array<[string, string]> = [
      ["d/up", "TOOLS_SYMLINK_REFUSED"],
      ["..", "TOOLS_PATH_OUTSIDE_WORKSPACE"],
      [join(root, "outside"), "TOOLS_PATH_OUTSIDE_WORKSPACE"],
      [".git", "TOOLS_PATH_INVALID"],
    ];
    for (const [path, code] of cases) {
      await assert.rejects(
        workerRun({ path, given: path, recursive: true, maxEntries: 10 }, ctx),
        (error: Error & { code?: string }) => error.code === code && !error.message.includes(ws),
        path,
      );
    }
    const data = await workerRun({ path: ".", given: ".", recursive: true, maxEntries: 10 }, ctx);
    assert.deepEqual(data.items.map((item) => [item.path, item.type]), [
      ["d", "dir"],
      ["d/up", "symlink"],
    ]);
  });
});
