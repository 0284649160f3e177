/**
 * The sandboxed half of a project's version control (spec/projects.md §9).
 * It runs in a blob Worker granted to run exactly one file, the git binary
 * the host found, so it is self-contained (type imports only). Every git
 * call gets a cleared environment that pins the work tree to the workspace
 * (`GIT_WORK_TREE`, `-C`) and keeps the repository itself beside it, out of
 * the file tools' reach (`GIT_DIR=<project>/git`), stops git from looking
 * above it (`GIT_CEILING_DIRECTORIES`), ignores system, user and global
 * configuration, excludes and attributes, and runs no hooks: the app's own
 * repository, or any repository the data directory sits in, is never
 * touched, and nothing the model writes can configure git.
 *
 * @module
 */
import type { WorkerContext } from "@synth/kernel";

/** One step the host asks for. */
type Op =
  | { op: "init" }
  | { op: "commit"; message: string }
  | { op: "log"; limit: number }
  | { op: "rollback"; commit: string; branch: string };

interface Args {
  git: string;
  workspace: string;
  /** The repository (outside the workspace); also git's HOME, so no user file is read. */
  gitDir: string;
  /** The folder above the workspace (`GIT_CEILING_DIRECTORIES`). */
  ceiling: string;
  author: { name: string; email: string };
  /** Commit time, seconds since the epoch (the server's clock). */
  at: number;
  ops: Op[];
}

/** What each op answers, in order. */
type Answer =
  | { op: "init"; created: boolean }
  | { op: "commit"; hash: string | null; subject: string }
  | { op: "log"; commits: Array<{ hash: string; subject: string; at: string }> }
  | { op: "rollback"; head: string | null; backup_branch: string };

function fail(message: string): never {
  throw Object.assign(new Error(message), { code: "TOOLS_FAILED" });
}

async function git(
  args: Args,
  argv: string[],
  accept: number[] = [0],
): Promise<{ code: number; stdout: string }> {
  const env: Record<string, string> = {
    GIT_DIR: args.gitDir,
    GIT_WORK_TREE: args.workspace,
    GIT_CEILING_DIRECTORIES: args.ceiling,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
    GIT_TERMINAL_PROMPT: "0",
    HOME: args.gitDir,
    XDG_CONFIG_HOME: args.gitDir,
    LC_ALL: "C",
    GIT_AUTHOR_NAME: args.author.name,
    GIT_AUTHOR_EMAIL: args.author.email,
    GIT_COMMITTER_NAME: args.author.name,
    GIT_COMMITTER_EMAIL: args.author.email,
    GIT_AUTHOR_DATE: `@${args.at} +0000`,
    GIT_COMMITTER_DATE: `@${args.at} +0000`,
  };
  const output = await new Deno.Command(args.git, {
    args: [
      "-C",
      args.workspace,
      "-c",
      "core.hooksPath=/dev/null",
      "-c",
      "commit.gpgSign=false",
      "-c",
      "core.fsmonitor=false",
      "-c",
      "protocol.allow=never",
      "-c",
      "core.excludesFile=/dev/null",
      "-c",
      "core.attributesFile=/dev/null",
      "-c",
      "core.autocrlf=false",
      ...argv,
    ],
    cwd: args.workspace,
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!accept.includes(output.code)) {
    const stderr = new TextDecoder().decode(output.stderr).trim().split("\n")[0] ?? "";
    // Host paths stay out of the message.
    fail(`git ${argv[0]} failed (${output.code}): ${stderr.replaceAll(args.workspace, ".")}`);
  }
  return { code: output.code, stdout: new TextDecoder().decode(output.stdout) };
}

async function hasRepository(args: Args): Promise<boolean> {
  return (await git(args, ["rev-parse", "--git-dir"], [0, 128])).code === 0;
}

async function head(args: Args): Promise<string | null> {
  const found = await git(args, ["rev-parse", "--verify", "--quiet", "HEAD"], [0, 1]);
  return found.code === 0 ? found.stdout.trim() : null;
}

async function branchExists(args: Args, branch: string): Promise<boolean> {
  const found = await git(
    args,
    ["rev-parse", "--verify", "--quiet", `refs/heads/${branch}`],
    [0, 1],
  );
  return found.code === 0;
}

async function step(args: Args, op: Op): Promise<Answer> {
  switch (op.op) {
    case "init": {
      if (await hasRepository(args)) return { op: "init", created: false };
      await git(args, ["init", "--quiet", "--initial-branch=main"]);
      return { op: "init", created: true };
    }
    case "commit": {
      await git(args, ["add", "--all"]);
      const status = await git(args, ["status", "--porcelain"]);
      if (status.stdout.trim() === "") return { op: "commit", hash: null, subject: op.message };
      await git(args, ["commit", "--quiet", "--no-verify", "-m", op.message]);
      return { op: "commit", hash: await head(args), subject: op.message };
    }
    case "log": {
      if ((await head(args)) === null) return { op: "log", commits: [] };
      const log = await git(args, ["log", `-n${op.limit}`, "--format=%H%x1f%s%x1f%cI"]);
      const commits = log.stdout.split("\n").filter(Boolean).map((line) => {
        const [hash = "", subject = "", at = ""] = line.split("\x1f");
        return { hash, subject, at: new Date(at).toISOString() };
      });
      return { op: "log", commits };
    }
    case "rollback": {
      const target = await git(
        args,
        ["rev-parse", "--verify", "--quiet", `${op.commit}^{commit}`],
        [0, 1, 128],
      );
      if (target.code !== 0) return { op: "rollback", head: null, backup_branch: op.branch };
      const hash = target.stdout.trim();
      // Files not committed yet (a step that failed after writing) go onto the backup too.
      await git(args, ["add", "--all"]);
      if ((await git(args, ["status", "--porcelain"])).stdout.trim() !== "") {
        await git(args, ["commit", "--quiet", "--no-verify", "-m", "backup: before rollback"]);
      }
      // Two rollbacks within a second: the second backup branch gets a suffix.
      let branch = op.branch;
      for (let n = 2; await branchExists(args, branch); n++) branch = `${op.branch}-${n}`;
      await git(args, ["branch", branch, "HEAD"]);
      await git(args, ["reset", "--quiet", "--hard", hash]);
      // -x: ignored files go too, so the files equal the commit's.
      await git(args, ["clean", "-fdxq"]);
      return { op: "rollback", head: hash, backup_branch: branch };
    }
  }
}

/** Runs the ops in order and answers each. */
export async function run(args: Args, _ctx: WorkerContext): Promise<Answer[]> {
  const answers: Answer[] = [];
  for (const op of args.ops) answers.push(await step(args, op));
  return answers;
}
