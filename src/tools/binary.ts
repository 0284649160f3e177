/**
 * Finding an installed program by name along a search path, for the hosts
 * that grant a sandbox the right to run exactly that file (`shell_run`, a
 * project's git).
 *
 * @module
 */
import { join } from "node:path";

/**
 * Found programs by search path and name. The files under `/usr/bin` and
 * `/bin` do not change while the server runs, so a lookup happens once per
 * name; misses are not kept (a program installed later is found next time).
 */
const found = new Map<string, string>();

/**
 * The absolute path of `name`: the first executable file (after links)
 * named so in the absolute folders of `searchPath` (`/usr/bin:/bin`), looked
 * up with `Deno.stat` once and then cached; null when no folder holds it.
 * Folders the server may not read count as not holding it.
 */
export async function findExecutable(name: string, searchPath: string): Promise<string | null> {
  const key = `${searchPath}\0${name}`;
  const cached = found.get(key);
  if (cached !== undefined) return cached;
  const folders = searchPath.split(":").filter((folder) => folder.startsWith("/"));
  for (const folder of folders) {
    const path = join(folder, name);
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotCapable) {
        continue;
      }
      throw error;
    }
    if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) {
      found.set(key, path);
      return path;
    }
  }
  return null;
}
