import assert from "node:assert/strict";
import { join } from "node:path";
import { invokeTool, makeTestDir, toolsConfig } from "@synth/testing";
import type { ToolDefinition, ToolResult } from "@synth/kernel";
import { fileListTool } from "../tool_file_list/mod.ts";
import { fileReadTool } from "../tool_file_read/mod.ts";
import { fileWriteTool } from "./mod.ts";
import { run as workerRun } from "./worker.ts";

interface Workspace {
  /** The workspace's real path. */
  ws: string;
  /** The test folder holding the workspace (outside it). */
  root: string;
  // deno-lint-ignore no-explicit-any
  call(tool: ToolDefinition<any>, args: Record<string, unknown>): Promise<ToolResult>;
  write(args: Record<string, unknown>): Promise<ToolResult>;
}

/** A workspace under ./data/.test; every result is checked to hold no host path. */
async function withWorkspace(
  fn: (w: Workspace) => Promise<void>,
  tools: Record<string, unknown> = {},
): Promise<void> {
  const config = toolsConfig(tools);
  const root = await Deno.realPath(await makeTestDir("file-write-"));
  try {
    await Deno.mkdir(join(root, "ws"));
    await Deno.mkdir(join(root, "empty"));
    const ws = await Deno.realPath(join(root, "ws"));
    // deno-lint-ignore no-explicit-any
    const call = async (tool: ToolDefinition<any>, args: Record<string, unknown>) => {
      const result = await invokeTool(tool, args, {
        config,
        workspace: ws,
        emptyDir: join(root, "empty"),
      });
      // Messages name the path as given: a host path only where the caller gave one.
      const hostPath = JSON.stringify(args).includes(root) ? ws : root;
      assert.ok(
        !JSON.stringify(result).includes(hostPath),
        `a host path in ${JSON.stringify(result)}`,
      );
      return result;
    };
    await fn({ ws, root, call, write: (args) => call(fileWriteTool.tool, args) });
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

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Names under `dir`, recursively, as relative paths. */
async function tree(dir: string, prefix = ""): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    names.push(prefix + entry.name);
    if (entry.isDirectory) {
      names.push(...await tree(join(dir, entry.name), `${prefix}${entry.name}/`));
    }
  }
  return names.sort();
}

Deno.test("file_write, file_read and file_list round trip in the workspace", async () => {
  await withWorkspace(async ({ ws, call, write }) => {
    const written = await write({ path: "notes/today.md", content: "# Today\nünïcode ✓\n" });
    assert.deepEqual(written, {
      ok: true,
      truncated: false,
      data: { path: "notes/today.md", bytes: 22, created: true },
    });
    assert.equal(await Deno.readTextFile(join(ws, "notes", "today.md")), "# Today\nünïcode ✓\n");
    const read = await call(fileReadTool.tool, { path: "notes/today.md" });
    assert.ok(read.ok);
    assert.deepEqual(
      { ...(read.data as Record<string, unknown>) },
      {
        path: "notes/today.md",
        content: "# Today\nünïcode ✓\n",
        size: 22,
        truncated: false,
        nextOffset: null,
      },
    );
    const listed = await call(fileListTool.tool, { recursive: true });
    assert.ok(listed.ok);
    const data = listed.data as { items: Array<{ path: string; type: string; size: number }> };
    assert.deepEqual(
      data.items.map(({ path, type, size }) => ({ path, type, size })),
      [{ path: "notes", type: "dir", size: 0 }, { path: "notes/today.md", type: "file", size: 22 }],
    );
  });
});

Deno.test("file_write makes missing parent folders", async () => {
  await withWorkspace(async ({ ws, write }) => {
    await Deno.mkdir(join(ws, "a"));
    const result = await write({ path: "a/b/c/d.txt", content: "deep" });
    assert.ok(result.ok);
    assert.deepEqual(result.data, { path: "a/b/c/d.txt", bytes: 4, created: true });
    assert.equal(await Deno.readTextFile(join(ws, "a", "b", "c", "d.txt")), "deep");
  });
});

Deno.test("file_write create refuses an existing file and leaves it unchanged", async () => {
  await withWorkspace(async ({ ws, write }) => {
    await Deno.writeTextFile(join(ws, "keep.txt"), "original");
    const result = await write({ path: "keep.txt", content: "replaced" });
    assert.equal(errorCode(result), "TOOLS_FILE_EXISTS");
    assert.match(result.ok ? "" : result.error.message, /"keep\.txt".*overwrite/);
    assert.equal(await Deno.readTextFile(join(ws, "keep.txt")), "original");
  });
});

Deno.test("file_write appends to and overwrites an existing file", async () => {
  await withWorkspace(async ({ ws, write }) => {
    await Deno.writeTextFile(join(ws, "log.txt"), "one\n");
    const appended = await write({ path: "log.txt", content: "two\n", mode: "append" });
    assert.ok(appended.ok);
    assert.deepEqual(appended.data, { path: "log.txt", bytes: 4, created: false });
    assert.equal(await Deno.readTextFile(join(ws, "log.txt")), "one\ntwo\n");
    const replaced = await write({ path: "log.txt", content: "three\n", mode: "overwrite" });
    assert.ok(replaced.ok);
    assert.deepEqual(replaced.data, { path: "log.txt", bytes: 6, created: false });
    assert.equal(await Deno.readTextFile(join(ws, "log.txt")), "three\n");
  });
});

Deno.test("file_write refuses to go over the workspace quota", async () => {
  await withWorkspace(async ({ ws, write }) => {
    await Deno.mkdir(join(ws, "sub"));
    await Deno.writeTextFile(join(ws, "sub", "old.txt"), "x".repeat(80));
    const over = await write({ path: "new.txt", content: "y".repeat(21) });
    assert.equal(errorCode(over), "TOOLS_QUOTA_EXCEEDED");
    assert.match(over.ok ? "" : over.error.message, /101 bytes.*quota of 100 bytes/);
    assert.equal(await exists(join(ws, "new.txt")), false);
    const appendOver = await write({
      path: "sub/old.txt",
      content: "y".repeat(21),
      mode: "append",
    });
    assert.equal(errorCode(appendOver), "TOOLS_QUOTA_EXCEEDED");
    // Overwriting counts the bytes it replaces: 90 new bytes in place of 80 fit in 100.
    const replaced = await write({
      path: "sub/old.txt",
      content: "z".repeat(90),
      mode: "overwrite",
    });
    assert.ok(replaced.ok, JSON.stringify(replaced));
    assert.equal((await Deno.stat(join(ws, "sub", "old.txt"))).size, 90);
  }, { workspace: { quotaBytes: 100 } });
});

Deno.test("file_write refuses content over 1,000,000 bytes as UTF-8", async () => {
  await withWorkspace(async ({ ws, write }) => {
    const result = await write({ path: "big.txt", content: "é".repeat(500_001) });
    assert.equal(errorCode(result), "TOOLS_ARGS_INVALID");
    assert.equal(await exists(join(ws, "big.txt")), false);
  });
});

Deno.test("file_write takes 1,000,000 bytes of control characters (under the frame limit)", async () => {
  await withWorkspace(async ({ ws, write }) => {
    const content = "\u0001".repeat(1_000_000);
    const result = await write({ path: "ctl.txt", content });
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.data, { path: "ctl.txt", bytes: 1_000_000, created: true });
    assert.equal(await Deno.readTextFile(join(ws, "ctl.txt")), content);
  });
});

Deno.test("file_write refuses paths outside the workspace and creates nothing (security row 2)", async () => {
  await withWorkspace(async ({ ws, root, write }) => {
    const before = await tree(root);
    const cases: Array<[string, string]> = [
      ["../x", "TOOLS_PATH_OUTSIDE_WORKSPACE"],
      ["a/../../x", "TOOLS_PATH_OUTSIDE_WORKSPACE"],
      ["/tmp/x", "TOOLS_PATH_OUTSIDE_WORKSPACE"],
      [join(root, "x"), "TOOLS_PATH_OUTSIDE_WORKSPACE"],
      [".git/hooks/pre-commit", "TOOLS_PATH_INVALID"],
      // git's folder however a case-folding (macOS, Windows) or dot-trimming file system names it
      [".GIT/config", "TOOLS_PATH_INVALID"],
      [".Git./config", "TOOLS_PATH_INVALID"],
      ["sub/.git /x", "TOOLS_PATH_INVALID"],
      ["GIT~1/config", "TOOLS_PATH_INVALID"],
      [".", "TOOLS_PATH_INVALID"],
      ["x\0y", "TOOLS_PATH_INVALID"],
    ];
    for (const [path, code] of cases) {
      assert.equal(
        errorCode(await write({ path, content: "pwned", mode: "overwrite" })),
        code,
        path,
      );
    }
    assert.deepEqual(await tree(root), before);
    assert.equal(await exists(join(ws, ".git")), false);
  });
});

Deno.test("file_write refuses symlinks anywhere in the path (security row 10)", async () => {
  await withWorkspace(async ({ ws, root, write }) => {
    await Deno.mkdir(join(root, "outside"));
    await symlink("/etc", join(ws, "link"));
    await symlink("/etc/hostname", join(ws, "f"));
    await symlink(join(root, "outside"), join(ws, "out"));
    for (const mode of ["create", "overwrite", "append"]) {
      for (const path of ["link/x", "link/hostname", "f", "out/x", "out/new/deep.txt"]) {
        const result = await write({ path, content: "pwned", mode });
        assert.equal(errorCode(result), "TOOLS_SYMLINK_REFUSED", `${mode} ${path}`);
      }
    }
    assert.deepEqual(await tree(join(root, "outside")), []);
  });
});

Deno.test("the file_write worker checks the path again in the sandbox", async () => {
  await withWorkspace(async ({ ws, root }) => {
    await Deno.mkdir(join(root, "outside"));
    await symlink(join(root, "outside"), join(ws, "out"));
    await Deno.writeTextFile(join(ws, "there.txt"), "here");
    const ctx = { workspace: ws, deadlineMs: 5_000, secrets: {}, limits: { maxOutputChars: 1 } };
    const cases: Array<[string, "create" | "overwrite", string]> = [
      ["out/x", "overwrite", "TOOLS_SYMLINK_REFUSED"],
      ["out", "overwrite", "TOOLS_SYMLINK_REFUSED"],
      ["../outside/x", "overwrite", "TOOLS_PATH_OUTSIDE_WORKSPACE"],
      [join(root, "outside", "x"), "overwrite", "TOOLS_PATH_OUTSIDE_WORKSPACE"],
      [".git/x", "overwrite", "TOOLS_PATH_INVALID"],
      ["there.txt", "create", "TOOLS_FILE_EXISTS"],
      ["there.txt/x", "overwrite", "TOOLS_PATH_INVALID"],
    ];
    for (const [path, mode, code] of cases) {
      await assert.rejects(
        workerRun({ path, given: path, contentBase64: btoa("pwned"), mode }, ctx),
        (error: Error & { code?: string }) =>
          error.code === code && !error.message.includes(path.includes(root) ? ws : root),
        path,
      );
    }
    assert.deepEqual(await tree(join(root, "outside")), []);
    assert.equal(await Deno.readTextFile(join(ws, "there.txt")), "here");
  });
});
