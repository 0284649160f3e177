/**
 * A project's workspace (spec/projects.md §9):
 * `<dataDir>/projects/<id>/workspace/`, where the execute step's file tools
 * are rooted. Listing it with SHA-256 tells which files a step changed (its
 * artifacts). Symbolic links are listed as nothing and never followed.
 *
 * @module
 */
import { join } from "node:path";

/** A file of the workspace. */
export interface WorkspaceFile {
  path: string;
  bytes: number;
  modifiedAt: number | null;
  sha256: string;
}

/** The project's workspace folder (not created). */
export function projectWorkspace(dataDir: string, projectId: string): string {
  return join(dataDir, "projects", projectId, "workspace");
}

/** The workspace and, beside it where no tool reaches, the project's git repository. */
export function projectDirs(
  dataDir: string,
  projectId: string,
): { workspace: string; gitDir: string } {
  return {
    workspace: projectWorkspace(dataDir, projectId),
    gitDir: join(dataDir, "projects", projectId, "git"),
  };
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Every regular file (not in `.git`), sorted by path; at most `limit`. */
export async function listWorkspace(dir: string, limit = 10_000): Promise<WorkspaceFile[]> {
  const out: WorkspaceFile[] = [];
  async function walk(folder: string, prefix: string) {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(folder));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (out.length >= limit) return;
      const path = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory && entry.name !== ".git") await walk(join(folder, entry.name), path);
      else if (entry.isFile) {
        const full = join(folder, entry.name);
        const info = await Deno.lstat(full);
        out.push({
          path,
          bytes: info.size,
          modifiedAt: info.mtime?.getTime() ?? null,
          sha256: await sha256Hex(await Deno.readFile(full)),
        });
      }
    }
  }
  await walk(dir, "");
  return out;
}

/** Files new or changed between two listings. */
export function changedFiles(before: WorkspaceFile[], after: WorkspaceFile[]): WorkspaceFile[] {
  const known = new Map(before.map((file) => [file.path, file.sha256]));
  return after.filter((file) => known.get(file.path) !== file.sha256);
}
