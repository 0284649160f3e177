/**
 * A project's git history (spec/projects.md §9): the host half. It finds
 * the git binary, checks every argument, and runs the steps in a sandbox
 * child that may run that one file (`vcs_worker.ts`); git itself is pinned
 * to the workspace there.
 *
 * @module
 */
import { AppError, findExecutable, type WorkerRun } from "@synth/kernel";
import { dirname } from "node:path";
import type { GdilConfig } from "./config.ts";

/** One commit of `GET /api/projects/{id}/vcs/log`. */
export interface VcsCommit {
  hash: string;
  subject: string;
  at: string;
}

/** A project's version control. */
export interface Vcs {
  /** Creates the repository when missing. */
  init(project: ProjectDirs): Promise<void>;
  /** Commits every change; null when nothing changed. */
  commit(project: ProjectDirs, message: string): Promise<{ hash: string; subject: string } | null>;
  /** The newest commits first. */
  log(project: ProjectDirs, limit: number): Promise<VcsCommit[]>;
  /**
   * Keeps HEAD on a `backup/<time>` branch, then resets the workspace to
   * `commit` (tracked files as they were, untracked ones removed).
   *
   * @throws {AppError} 404 `GDIL_VCS_UNKNOWN_COMMIT`.
   */
  rollback(project: ProjectDirs, commit: string): Promise<{ head: string; backup_branch: string }>;
}

/**
 * A project's folders: the workspace (the file tools' root and git's work
 * tree) and the repository beside it, which no tool can reach.
 */
export interface ProjectDirs {
  workspace: string;
  gitDir: string;
}

/** What {@link createVcs} needs. */
export interface VcsOptions {
  config: GdilConfig["vcs"];
  sandbox: (job: WorkerRun) => Promise<unknown>;
  now: () => number;
}

const WORKER = new URL("./vcs_worker.ts", import.meta.url);
/** Hex, 4–40 characters: a commit as `git log` shows it, never an option. */
const COMMIT = /^[0-9a-f]{4,40}$/;

function author(value: string): { name: string; email: string } {
  const match = /^(.*) <(.*)>$/.exec(value)!;
  return { name: match[1]!, email: match[2]! };
}

/** `backup/20261126T061500Z` for the given time. */
export function backupBranch(at: number): string {
  return `backup/${new Date(at).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "")}`;
}

/** The git steps of a project, each in a fresh sandbox child. */
export function createVcs(options: VcsOptions): Vcs {
  const { config } = options;

  /**
   * Creates the repository when missing, then runs `op` (if any) in a fresh
   * sandbox child, and resolves with `op`'s answer.
   */
  async function step(
    { workspace, gitDir }: ProjectDirs,
    op?: Record<string, unknown>,
  ): Promise<Record<string, unknown> | undefined> {
    const git = await findExecutable("git", config.searchPath);
    if (git === null) {
      throw new AppError(
        "GDIL_VCS_UNAVAILABLE",
        `git is not installed: no executable git in ${JSON.stringify(config.searchPath)}`,
        { status: 503 },
      );
    }
    await Deno.mkdir(gitDir, { recursive: true });
    const answers = await options.sandbox({
      label: "project git",
      worker: WORKER,
      args: {
        git,
        workspace,
        gitDir,
        ceiling: dirname(workspace),
        author: author(config.author),
        at: Math.floor(options.now() / 1000),
        ops: [{ op: "init" }, ...(op ? [op] : [])],
      },
      grants: { run: [git] },
      cwd: workspace,
      timeoutMs: config.timeoutMs,
    }) as Array<Record<string, unknown>>;
    return op ? answers[1] : undefined;
  }

  return {
    async init(project) {
      await step(project);
    },

    async commit(project, message) {
      const hash = (await step(project, { op: "commit", message }))?.hash;
      return typeof hash === "string" ? { hash, subject: message } : null;
    },

    async log(project, limit) {
      return ((await step(project, { op: "log", limit }))?.commits ?? []) as VcsCommit[];
    },

    async rollback(project, commit) {
      const unknown = new AppError(
        "GDIL_VCS_UNKNOWN_COMMIT",
        `No commit ${JSON.stringify(commit)} in this project's history`,
        { status: 404, field: "commit" },
      );
      if (!COMMIT.test(commit)) throw unknown;
      const answer = await step(project, {
        op: "rollback",
        commit,
        branch: backupBranch(options.now()),
      });
      if (typeof answer?.head !== "string") throw unknown;
      return { head: answer.head, backup_branch: String(answer.backup_branch) };
    },
  };
}
