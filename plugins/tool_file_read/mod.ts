/**
 * `file_read` (spec/tools.md §2, §5): reads a UTF-8 text file of the
 * workspace, in pages of `maxChars` characters from `offset`. The host
 * checks the path (relative, inside, no `.git`, no symlink) before the
 * sandbox starts; the worker checks it again with `lstat` on every
 * component and is granted read of the workspace only. Results and messages
 * name workspace-relative paths, never a host path.
 *
 * @module
 */
import { defineTool, resolveInWorkspace, ToolError, withoutHostPaths } from "@synth/kernel";
import { z } from "zod";

/** Largest file `file_read` reads, in bytes. */
export const MAX_READ_FILE_BYTES = 1_000_000;

/** What the worker gets: the checked, workspace-relative path and the page. */
export interface FileReadWorkerArgs {
  /** Normalised, relative to the workspace (the child's working directory). */
  path: string;
  /** As the caller gave it, for messages. */
  given: string;
  offset: number;
  maxChars: number;
}

/** The result's `data`. */
export interface FileReadData {
  /** Workspace-relative. */
  path: string;
  content: string;
  /** The file's size in bytes. */
  size: number;
  /** Whether the file goes on after `content`. */
  truncated: boolean;
  /** The `offset` of the next page, or null at the end. */
  nextOffset: number | null;
}

/** `file_read`. */
export const fileReadTool = defineTool({
  name: "file_read",
  description:
    "Read a UTF-8 text file from the workspace (at most 1,000,000 bytes; binary files are refused). " +
    "Long files come in pages: pass the returned nextOffset as offset to read on.",
  args: z.strictObject({
    path: z.string().describe("File path relative to the workspace, e.g. notes/todo.md"),
    offset: z.number().int().min(0).default(0).describe(
      "Character offset to start reading at (the nextOffset of the previous page); 0 = the start",
    ),
    maxChars: z.number().int().min(1).max(50_000).default(10_000).describe(
      "Characters to return at most (1 to 50,000)",
    ),
  }),
  risk: "safe",
  limits: { timeoutMs: 5_000, maxOutputChars: 60_000 },
  grants: { read: ["${workspace}"] },
  workspace: true,
  worker: new URL("./worker.ts", import.meta.url),
  async run(args, ctx) {
    const workspace = ctx.workspace;
    if (workspace === null) throw new Error("file_read runs only with a workspace");
    try {
      const target = await resolveInWorkspace(workspace, args.path, { mustExist: true });
      const shown = JSON.stringify(args.path);
      if (target.info?.isDirectory) {
        throw new ToolError(
          "TOOLS_PATH_INVALID",
          `The path ${shown} is a folder, not a file; use file_list to see what it holds`,
        );
      }
      if (!target.info?.isFile) {
        throw new ToolError("TOOLS_PATH_INVALID", `The path ${shown} is not a regular file`);
      }
      if (target.info.size > MAX_READ_FILE_BYTES) {
        throw new ToolError(
          "TOOLS_FILE_TOO_LARGE",
          `The file ${shown} has ${target.info.size} bytes; file_read reads files of at most ${MAX_READ_FILE_BYTES} bytes`,
        );
      }
      const workerArgs: FileReadWorkerArgs = {
        path: target.relative,
        given: args.path,
        offset: args.offset,
        maxChars: args.maxChars,
      };
      return await ctx.sandbox(workerArgs, { read: [workspace] }) as FileReadData;
    } catch (error) {
      throw withoutHostPaths(error, {
        workspace,
        given: args.path,
        tool: "file_read",
        access: "read",
      });
    }
  },
});
