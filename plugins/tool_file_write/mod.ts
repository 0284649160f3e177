/**
 * `file_write` (spec/tools.md §2, §5): writes a text file of the workspace
 * — `create` (refuses an existing file), `overwrite` or `append` — making
 * parent folders. The host checks the path (relative, inside, no `.git`, no
 * symlink) and the workspace quota before the sandbox starts; the worker
 * checks the path again with `lstat` on every component and is granted read
 * and write of the workspace only. Results and messages name
 * workspace-relative paths, never a host path.
 *
 * @module
 */
import {
  defineTool,
  folderBytes,
  resolveInWorkspace,
  ToolError,
  withoutHostPaths,
} from "@synth/kernel";
import { z } from "zod";

/** Largest content `file_write` writes in one call, in UTF-8 bytes. */
export const MAX_WRITE_BYTES = 1_000_000;

/** How `file_write` treats an existing file. */
export type FileWriteMode = "create" | "overwrite" | "append";

/** What the worker gets: the checked, workspace-relative path and the bytes (base64). */
export interface FileWriteWorkerArgs {
  /** Normalised, relative to the workspace (the child's working directory). */
  path: string;
  /** As the caller gave it, for messages. */
  given: string;
  /** The UTF-8 bytes, base64: escaped JSON of 1 MB of control characters would pass a frame's 4 MiB. */
  contentBase64: string;
  mode: FileWriteMode;
}

/** The result's `data`. */
export interface FileWriteData {
  /** Workspace-relative. */
  path: string;
  /** Bytes written. */
  bytes: number;
  /** Whether the file was new. */
  created: boolean;
}

const encoder = new TextEncoder();

/** `file_write`. */
export const fileWriteTool = defineTool({
  name: "file_write",
  description:
    "Write a UTF-8 text file in the workspace, making parent folders. mode 'create' (default) " +
    "refuses an existing file; 'overwrite' replaces it; 'append' adds to its end.",
  args: z.strictObject({
    path: z.string().describe("File path relative to the workspace, e.g. notes/todo.md"),
    content: z.string().max(MAX_WRITE_BYTES).refine(
      (content) => encoder.encode(content).length <= MAX_WRITE_BYTES,
      { message: `Too big: content must be at most ${MAX_WRITE_BYTES} bytes as UTF-8` },
    ).describe("The text to write (at most 1,000,000 bytes as UTF-8)"),
    mode: z.enum(["create", "overwrite", "append"]).default("create").describe(
      "create: a new file only (default); overwrite: replace the file; append: add to its end",
    ),
  }),
  risk: "write",
  limits: { timeoutMs: 5_000, maxOutputChars: 2_000 },
  grants: { read: ["${workspace}"], write: ["${workspace}"] },
  workspace: true,
  worker: new URL("./worker.ts", import.meta.url),
  async run(args, ctx) {
    const workspace = ctx.workspace;
    if (workspace === null) throw new Error("file_write runs only with a workspace");
    try {
      const target = await resolveInWorkspace(workspace, args.path);
      const shown = JSON.stringify(args.path);
      if (target.relative === ".") {
        throw new ToolError(
          "TOOLS_PATH_INVALID",
          `The path ${shown} is the workspace folder itself; give a file path`,
        );
      }
      const existing = target.info;
      if (existing?.isDirectory) {
        throw new ToolError("TOOLS_PATH_INVALID", `The path ${shown} is a folder, not a file`);
      }
      if (existing && !existing.isFile) {
        throw new ToolError("TOOLS_PATH_INVALID", `The path ${shown} is not a regular file`);
      }
      if (existing && args.mode === "create") {
        throw new ToolError(
          "TOOLS_FILE_EXISTS",
          `The file ${shown} already exists; use mode "overwrite" or "append" to change it`,
        );
      }
      const bytes = encoder.encode(args.content);
      const used = await folderBytes(workspace);
      const replaced = existing && args.mode === "overwrite" ? existing.size : 0;
      const after = used + bytes.length - replaced;
      const quota = ctx.config.workspace.quotaBytes;
      if (after > quota) {
        throw new ToolError(
          "TOOLS_QUOTA_EXCEEDED",
          `Writing ${bytes.length} bytes to ${shown} would bring the workspace to ${after} bytes, ` +
            `over its quota of ${quota} bytes; delete files or write less`,
        );
      }
      const workerArgs: FileWriteWorkerArgs = {
        path: target.relative,
        given: args.path,
        contentBase64: toBase64(bytes),
        mode: args.mode,
      };
      return await ctx.sandbox(workerArgs, {
        read: [workspace],
        write: [workspace],
      }) as FileWriteData;
    } catch (error) {
      throw withoutHostPaths(error, {
        workspace,
        given: args.path,
        tool: "file_write",
        access: "write",
      });
    }
  },
});

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let index = 0; index < bytes.length; index += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(index, index + 0x8000));
  }
  return btoa(binary);
}
