import assert from "node:assert/strict";
import { join } from "node:path";
import { invokeTool, makeTestDir, toolsConfig } from "@synth/testing";
import type { ToolResult } from "@synth/kernel";
import { fileReadTool } from "./mod.ts";
import { run as workerRun } from "./worker.ts";

const config = toolsConfig({});

interface Workspace {
  /** The workspace's real path. */
  ws: string;
  /** The test folder holding the workspace (outside it). */
  root: string;
  read(args: Record<string, unknown>): Promise<ToolResult>;
}

/** A workspace under ./data/.test; every result is checked to hold no host path. */
async function withWorkspace(fn: (w: Workspace) => Promise<void>): Promise<void> {
  const root = await Deno.realPath(await makeTestDir("file-read-"));
  try {
    await Deno.mkdir(join(root, "ws"));
    await Deno.mkdir(join(root, "empty"));
    const ws = await Deno.realPath(join(root, "ws"));
    const read = async (args: Record<string, unknown>) => {
      const result = await invokeTool(fileReadTool.tool, args, {
        config,
        workspace: ws,
        emptyDir: join(root, "empty"),
      });
      assert.ok(!JSON.stringify(result).includes(root), `a host path in ${JSON.stringify(result)}`);
      return result;
    };
    await fn({ ws, root, read });
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

Deno.test("file_read pages through a text file with offset and nextOffset", async () => {
  await withWorkspace(async ({ ws, read }) => {
    await Deno.mkdir(join(ws, "notes"));
    await Deno.writeTextFile(join(ws, "notes", "a.txt"), "héllo world");
    const first = await read({ path: "./notes//a.txt", maxChars: 6 });
    assert.deepEqual(first, {
      ok: true,
      truncated: true,
      data: { path: "notes/a.txt", content: "héllo ", size: 12, truncated: true, nextOffset: 6 },
    });
    const second = await read({ path: "notes/a.txt", offset: 6, maxChars: 6 });
    assert.deepEqual(second, {
      ok: true,
      truncated: false,
      data: { path: "notes/a.txt", content: "world", size: 12, truncated: false, nextOffset: null },
    });
  });
});

Deno.test("file_read refuses binary content: a NUL byte or invalid UTF-8", async () => {
  await withWorkspace(async ({ ws, read }) => {
    await Deno.writeFile(join(ws, "nul.bin"), new Uint8Array([104, 105, 0, 104]));
    await Deno.writeFile(join(ws, "latin1.txt"), new Uint8Array([99, 97, 102, 0xe9]));
    const nul = await read({ path: "nul.bin" });
    assert.equal(errorCode(nul), "TOOLS_FILE_BINARY");
    assert.match(nul.ok ? "" : nul.error.message, /"nul\.bin"/);
    assert.equal(errorCode(await read({ path: "latin1.txt" })), "TOOLS_FILE_BINARY");
  });
});

Deno.test("file_read refuses a file over 1,000,000 bytes", async () => {
  await withWorkspace(async ({ ws, read }) => {
    await Deno.writeTextFile(join(ws, "big.txt"), "x".repeat(1_000_001));
    const result = await read({ path: "big.txt" });
    assert.equal(errorCode(result), "TOOLS_FILE_TOO_LARGE");
    assert.match(result.ok ? "" : result.error.message, /1000001 bytes/);
  });
});

Deno.test("file_read answers a folder, a missing file and .git with clear errors", async () => {
  await withWorkspace(async ({ ws, read }) => {
    await Deno.mkdir(join(ws, "sub"));
    const folder = await read({ path: "sub" });
    assert.equal(errorCode(folder), "TOOLS_PATH_INVALID");
    assert.match(folder.ok ? "" : folder.error.message, /is a folder.*file_list/);
    assert.equal(errorCode(await read({ path: "missing.txt" })), "TOOLS_FILE_NOT_FOUND");
    assert.equal(errorCode(await read({ path: ".git/config" })), "TOOLS_PATH_INVALID");
    assert.equal(errorCode(await read({ path: "a\0b" })), "TOOLS_PATH_INVALID");
  });
});

Deno.test("file_read refuses paths outside the workspace (security row 1)", async () => {
  await withWorkspace(async ({ read }) => {
    for (const path of ["../../etc/passwd", "/etc/passwd", "sub/../../x", ".."]) {
      const result = await read({ path });
      assert.equal(errorCode(result), "TOOLS_PATH_OUTSIDE_WORKSPACE", path);
    }
  });
});

Deno.test("file_read refuses symlinks anywhere in the path (security row 10)", async () => {
  await withWorkspace(async ({ ws, root, read }) => {
    await symlink("/etc", join(ws, "link"));
    await symlink("/etc/hostname", join(ws, "f"));
    await Deno.writeTextFile(join(root, "secret.txt"), "outside");
    await symlink(join(root, "secret.txt"), join(ws, "inner"));
    for (const path of ["link/hostname", "link/passwd", "f", "inner", "./link/../f"]) {
      const result = await read({ path });
      assert.equal(errorCode(result), "TOOLS_SYMLINK_REFUSED", path);
    }
  });
});

Deno.test("the file_read worker checks the path again in the sandbox", async () => {
  await withWorkspace(async ({ ws, root }) => {
    await Deno.writeTextFile(join(root, "secret.txt"), "outside");
    await symlink(join(root, "secret.txt"), join(ws, "inner"));
    await Deno.mkdir(join(ws, "d"));
    await symlink(root, join(ws, "d", "up"));
    await Deno.writeTextFile(join(ws, "big.txt"), "x".repeat(1_000_001));
    const ctx = { workspace: ws, deadlineMs: 5_000, secrets: {}, limits: { maxOutputChars: 1 } };
    const cases: Array<[string, string]> = [
      ["inner", "TOOLS_SYMLINK_REFUSED"],
      ["d/up/secret.txt", "TOOLS_SYMLINK_REFUSED"],
      ["../secret.txt", "TOOLS_PATH_OUTSIDE_WORKSPACE"],
      ["/etc/passwd", "TOOLS_PATH_OUTSIDE_WORKSPACE"],
      [".git/config", "TOOLS_PATH_INVALID"],
      ["big.txt", "TOOLS_FILE_TOO_LARGE"],
      ["d", "TOOLS_PATH_INVALID"],
    ];
    for (const [path, code] of cases) {
      await assert.rejects(
        workerRun({ path, given: path, offset: 0, maxChars: 10 }, ctx),
        (error: Error & { code?: string }) => error.code === code && !error.message.includes(root),
        path,
      );
    }
  });
});
