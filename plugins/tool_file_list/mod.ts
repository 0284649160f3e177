/**
 * `file_list` (spec/tools.md §2, §5): lists a folder of the workspace,
 * optionally recursively, skipping `.git`. Symlinks are listed as
 * `symlink` and never followed. The host checks the path (relative, inside,
 * no `.git`, no symlink) before the sandbox starts; the worker checks it
 * again with `lstat` on every component and is granted read of the
 * workspace only. Results and messages name workspace-relative paths, never
 * a host path.
 *
 * @module
 */
import { defineTool, resolveInWorkspace, ToolError, withoutHostPaths } from "@synth/kernel";
import { z } from "zod";

/** What the worker gets: the checked, workspace-relative path and the options. */
export interface FileListWorkerArgs {
  /** Normalised, relative to the workspace (the child's working directory). */
  path: string;
  /** As the caller gave it, for messages. */
  given: string;
  recursive: boolean;
  maxEntries: number;
}

/** One listed entry. */
export interface FileListItem {
  name: string;
  /** Workspace-relative. */
  path: string;
  type: "file" | "dir" | "symlink";
  /** Bytes of a file; 0 for folders and links (a link is never followed). */
  size: number;
  /** ISO time of the last change, or null where the system does not say. */
  modifiedAt: string | null;
}

/** The result's `data`. */
export interface FileListData {
  /** Workspace-relative. */
  path: string;
  items: FileListItem[];
  count: number;
  /** Whether entries were left out at `maxEntries`. */
  truncated: boolean;
}

/** `file_list`. */
export const fileListTool = defineTool({
  name: "file_list",
  description:
    "List the files and folders of a workspace folder (optionally recursively; .git is skipped). " +
    "Symbolic links are shown as type 'symlink' and never followed.",
  args: z.strictObject({
    path: z.string().default(".").describe(
      'Folder path relative to the workspace; "." (default) is the workspace itself',
    ),
    recursive: z.boolean().default(false).describe("Also list the contents of subfolders"),
    maxEntries: z.number().int().min(1).max(5_000).default(500).describe(
      "Entries to return at most (1 to 5,000); truncated tells whether more exist",
    ),
  }),
  risk: "safe",
  limits: { timeoutMs: 5_000, maxOutputChars: 1_000_000 },
  grants: { read: ["${workspace}"] },
  workspace: true,
  worker: new URL("./worker.ts", import.meta.url),
  async run(args, ctx) {
    const workspace = ctx.workspace;
    if (workspace === null) throw new Error("file_list runs only with a workspace");
    try {
      const target = await resolveInWorkspace(workspace, args.path, { mustExist: true });
      if (!target.info?.isDirectory) {
        throw new ToolError(
          "TOOLS_PATH_INVALID",
          `The path ${JSON.stringify(args.path)} is a file, not a folder; use file_read to read it`,
        );
      }
      const workerArgs: FileListWorkerArgs = {
        path: target.relative,
        given: args.path,
        recursive: args.recursive,
        maxEntries: args.maxEntries,
      };
      return await ctx.sandbox(workerArgs, { read: [workspace] }) as FileListData;
    } catch (error) {
      throw withoutHostPaths(error, {
        workspace,
        given: args.path,
        tool: "file_list",
        access: "read",
      });
    }
  },
});
