/**
 * `shell_run` (spec/tools.md §2, §6): runs one allow-listed binary with
 * allow-listed options in the workspace, without a shell. The host parses
 * the command (quoting only), checks every option and operand against the
 * binary's allow-list and every path against the workspace (§5), resolves
 * the binary to an absolute path, and only then starts a sandbox granted to
 * run exactly that binary and read the workspace.
 *
 * @module
 */
import { defineTool, resolveInWorkspace, ToolError } from "@synth/kernel";
import { z } from "zod";
import { binaryTable } from "./binaries.ts";
import { planCommand } from "./parse.ts";
import { findSymlinkInside, resolveBinary } from "./resolve.ts";

/** What the worker gets. */
interface ShellWorkerArgs {
  command: string;
  /** Absolute path of the binary (the one the sandbox may run). */
  binary: string;
  /** Arguments after the binary, paths replaced by their checked relative form. */
  args: string[];
  /** The checked relative paths, checked again for links inside the sandbox. */
  paths: string[];
  /** `PATH` of the program. */
  searchPath: string;
}

/** The `shell_run` tool. */
export const shellRunTool = defineTool({
  name: "shell_run",
  description:
    "Run one command from a fixed list in the workspace, without a shell: ls, pwd, whoami, date, " +
    "echo, head, tail, wc, sort, uniq, diff, which. Quotes ('…', \"…\", \\) group words; " +
    "pipes, redirections, variables and globs are not supported. Only listed options are " +
    "accepted; paths are relative to the workspace. Returns the exit code, stdout and stderr.",
  args: z.strictObject({
    command: z.string().min(1).max(4_096).describe(
      "The command line, e.g. `wc -l notes.txt` or `sort -rn -k 2 data.txt`",
    ),
  }),
  risk: "execute",
  limits: { timeoutMs: 10_000, maxOutputChars: 10_000 },
  // `${binary}`: the absolute path the command's first word resolves to.
  grants: { read: ["${workspace}"], run: ["${binary}"] },
  workspace: true,
  worker: new URL("./worker.ts", import.meta.url),
  async run(args, ctx) {
    const workspace = ctx.workspace;
    if (workspace === null) {
      throw new ToolError("TOOLS_FAILED", "shell_run needs a workspace, and the call has none");
    }
    const table = binaryTable(ctx.config.shell.binaries);
    const plan = planCommand(args.command, table);
    const spec = table[plan.binary]!;
    const binary = await resolveBinary(plan.binary, ctx.config.shell.searchPath);
    const argv = [...plan.args];
    const paths: string[] = [];
    for (const { index, word } of plan.paths) {
      const checked = await resolveInWorkspace(workspace, word, { mustExist: true });
      // "./-x" keeps a name starting with "-" from reading as an option.
      argv[index] = checked.relative.startsWith("-") ? `./${checked.relative}` : checked.relative;
      paths.push(checked.relative);
      if (spec.scanFolders && checked.info?.isDirectory) {
        const recursive = spec.scanFolders === "recursive" ||
          (spec.scanFolders.startsWith("recursive-with:") &&
            plan.options.includes(spec.scanFolders.slice("recursive-with:".length)));
        const shown = JSON.stringify(word);
        const link = await findSymlinkInside(checked.absolute, { recursive, shown });
        if (link !== null) {
          throw new ToolError(
            "TOOLS_SYMLINK_REFUSED",
            `The folder ${shown} holds a symbolic link (${
              JSON.stringify(link)
            }), which ${plan.binary} would follow; tools do not follow links`,
          );
        }
      }
    }
    const workerArgs: ShellWorkerArgs = {
      command: args.command,
      binary,
      args: argv,
      paths,
      searchPath: ctx.config.shell.searchPath,
    };
    return await ctx.sandbox(workerArgs, { run: [binary], read: [workspace] });
  },
});
