/**
 * Prepared bundles of third-party plugins (spec/tools.md §9 step 2): `deno
 * bundle` turns a plugin's entry into one module, stored as
 * `<dataDir>/plugins/<id>/<version>/plugin.js` with its SHA-256 in
 * `<dataDir>/plugins/lock.json`; loading checks the hash, so a bundle
 * changed after preparation is refused (`PLUGIN_INTEGRITY`). A bundle may
 * hold no `npm:`, `jsr:` or remote imports: the sandbox runs with
 * `--no-remote --no-npm` and only the bundle's own code.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AppError } from "../../errors.ts";
import { isCompiledBinary } from "../../sandbox/host.ts";
import type { PluginEntry } from "./config.ts";

/** One prepared plugin in `lock.json`. */
export interface LockEntry {
  version: string;
  from: string;
  sha256: string;
  preparedAt: string;
}

/** `<dataDir>/plugins/lock.json`. */
export interface LockFile {
  lockVersion: 1;
  plugins: Record<string, LockEntry>;
}

/**
 * Environment variables `deno bundle` gets from the server's environment:
 * Deno's cache and the certificate and proxy settings it needs to download
 * esbuild from the npm registry the first time.
 */
export const BUNDLE_ENV_NAMES: readonly string[] = [
  "HOME",
  "DENO_DIR",
  "PATH",
  "XDG_CACHE_HOME",
  "DENO_CERT",
  "DENO_TLS_CA_STORE",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "NODE_EXTRA_CA_CERTS",
  "HTTPS_PROXY",
  "HTTP_PROXY",
  "NO_PROXY",
  "NPM_CONFIG_REGISTRY",
];

/** How to start `deno bundle`. */
export interface BundleRuntime {
  /** The deno executable. @default Deno.execPath() */
  denoPath?: string | null;
  /** prlimit, through which the server may start deno; null starts deno directly. */
  prlimitPath?: string | null;
  /** Where `deno bundle` runs (the app's folder: its deno.json resolves `@synth/kernel`). */
  cwd: string;
  /** Environment for deno (HOME, DENO_DIR, PATH). */
  env?: Record<string, string>;
}

const refused = (code: string, plugin: string, message: string) =>
  new AppError(code, message, { status: 422, details: { plugin } });

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

const lockPath = (dataDir: string) => join(dataDir, "plugins", "lock.json");

/** Reads the lock file (empty when there is none). */
export async function readLock(dataDir: string): Promise<LockFile> {
  try {
    const parsed = JSON.parse(await Deno.readTextFile(lockPath(dataDir)));
    if (parsed?.lockVersion === 1 && typeof parsed.plugins === "object") return parsed;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return { lockVersion: 1, plugins: {} };
}

/** Import statements that would load code from outside the bundle. */
const OUTSIDE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'`](npm:|jsr:|https?:)/;

/**
 * Bundles the entry's module into one file (in a staging folder) and
 * returns its text.
 *
 * @throws {AppError} `PLUGIN_BUNDLE_FAILED` with deno's message,
 * `PLUGIN_REMOTE_IMPORT` when the bundle still imports from outside.
 */
export async function bundlePlugin(
  entry: PluginEntry,
  options: { dataDir: string; baseDir: string; runtime: BundleRuntime },
): Promise<string> {
  const source = entry.from.startsWith("npm:") || entry.from.startsWith("file:")
    ? entry.from
    : resolve(options.baseDir, entry.from);
  const staging = join(options.dataDir, "plugins", entry.id, ".staging");
  await Deno.mkdir(staging, { recursive: true });
  const out = join(staging, "plugin.js");
  if (options.runtime.denoPath == null && isCompiledBinary()) {
    // The binary is not a deno CLI: it cannot bundle (spec/tools.md §9).
    throw new AppError(
      "PLUGIN_NOT_PREPARED",
      `Plugin '${entry.id}' is not prepared, and a compiled binary cannot bundle it: run ` +
        "'deno task plugins:prepare' with the same configuration where deno is installed, or set " +
        "tools.sandbox.denoPath",
      { status: 422 },
    );
  }
  const deno = options.runtime.denoPath ?? Deno.execPath();
  // The app's lock file is frozen and lists only the app's packages: a plugin's own npm packages
  // are fetched into Deno's cache (not the app's node_modules, which may be read-only) and pinned
  // in a lock file of the plugin's own, which later bundles check them against.
  const lock = join(options.dataDir, "plugins", entry.id, "deno.lock");
  const args = [
    "bundle",
    "--quiet",
    `--lock=${lock}`,
    "--frozen=false",
    "--node-modules-dir=none",
    "-o",
    out,
    source,
  ];
  // The server may start only prlimit, which then starts deno (as for the sandbox).
  const result = await new Deno.Command(
    options.runtime.prlimitPath ?? deno,
    {
      args: options.runtime.prlimitPath ? ["--", deno, ...args] : args,
      cwd: options.runtime.cwd,
      clearEnv: true,
      env: { NO_COLOR: "1", ...options.runtime.env },
      stdout: "piped",
      stderr: "piped",
    },
  ).output();
  if (!result.success) {
    const message = bundleError(new TextDecoder().decode(result.stderr));
    throw refused(
      "PLUGIN_BUNDLE_FAILED",
      entry.id,
      `Cannot load plugin '${entry.id}': bundling ${entry.from} failed: ${message || "no output"}`,
    );
  }
  const code = await Deno.readTextFile(out);
  const outside = OUTSIDE_IMPORT.exec(code);
  if (outside) {
    throw refused(
      "PLUGIN_REMOTE_IMPORT",
      entry.id,
      `Cannot load plugin '${entry.id}': its bundle still imports '${outside[1]}…' modules; ` +
        "bundle every dependency in",
    );
  }
  return code;
}

/**
 * The lines of `deno bundle`'s output that say what went wrong: each `error:` line (without its
 * code frame and backtrace) and the cause under it, else the last lines; at most 600 characters.
 */
export function bundleError(stderr: string): string {
  const lines = stderr.split("\n").map((line) => line.trim()).filter(Boolean);
  const said: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === "Caused by:" && lines[i + 1]) said.push(lines[i + 1]!);
    else if (/^error:/i.test(line) && line !== "error: bundling failed") said.push(line);
    else if (/^at (file|npm|https?):/.test(line) && said.length > 0) said.push(line);
  }
  const chosen = said.length > 0 ? said : lines.slice(-3);
  return [...new Set(chosen)].join(" ").slice(0, 600);
}

/** Stores a checked bundle under its version and records its hash in the lock file. */
export async function installBundle(
  dataDir: string,
  entry: PluginEntry,
  version: string,
  code: string,
  now: Date,
): Promise<LockEntry> {
  const path = join(dataDir, "plugins", entry.id, version, "plugin.js");
  await Deno.mkdir(dirname(path), { recursive: true });
  await Deno.writeTextFile(path, code);
  const lock = await readLock(dataDir);
  const record: LockEntry = {
    version,
    from: entry.from,
    sha256: await sha256Hex(code),
    preparedAt: now.toISOString(),
  };
  lock.plugins[entry.id] = record;
  await Deno.writeTextFile(lockPath(dataDir), JSON.stringify(lock, null, 2) + "\n");
  await Deno.remove(join(dataDir, "plugins", entry.id, ".staging"), { recursive: true })
    .catch(() => {});
  return record;
}

/**
 * The prepared bundle of an entry, its hash checked; null when it was never
 * prepared (or prepared from another `from`).
 *
 * @throws {AppError} `PLUGIN_INTEGRITY` when the file changed after preparation.
 */
export async function loadBundle(
  dataDir: string,
  entry: PluginEntry,
): Promise<{ version: string; code: string; bundledAt: number } | null> {
  const record = (await readLock(dataDir)).plugins[entry.id];
  if (!record || record.from !== entry.from) return null;
  const path = join(dataDir, "plugins", entry.id, record.version, "plugin.js");
  let code: string;
  try {
    code = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
  if (await sha256Hex(code) !== record.sha256) {
    throw refused(
      "PLUGIN_INTEGRITY",
      entry.id,
      `Cannot load plugin '${entry.id}': its prepared bundle changed after preparation ` +
        "(the SHA-256 differs from plugins/lock.json); run deno task plugins:prepare again",
    );
  }
  // The file's own time, which the source files' times compare with (the same clock).
  const bundledAt = (await Deno.stat(path)).mtime?.getTime() ?? 0;
  return { version: record.version, code, bundledAt };
}

/** At most this many files of a plugin's folder are looked at for changes. */
const SOURCE_FILES_SEEN = 2_000;

/**
 * A file of a local plugin's folder (the entry module's, nested folders too, `node_modules` and
 * dot-folders left out) modified after `since` (the prepared bundle's file time), or null: none
 * was, the source is an npm package, or the folder cannot be read under the permission set.
 */
export async function changedSource(
  entry: PluginEntry,
  options: { baseDir: string; dataDir: string; since: number },
): Promise<string | null> {
  if (entry.from.startsWith("npm:")) return null;
  const { since } = options;
  const main = entry.from.startsWith("file:")
    ? fileURLToPath(entry.from)
    : resolve(options.baseDir, entry.from);
  // A plugin beside the config file would otherwise see the database change at every write.
  const dataDir = resolve(options.dataDir);
  let seen = 0;
  const walk = async (dir: string): Promise<string | null> => {
    for await (const item of Deno.readDir(dir)) {
      if (item.name.startsWith(".") || item.name === "node_modules") continue;
      const path = join(dir, item.name);
      if (path === dataDir) continue;
      if (item.isDirectory) {
        const found = await walk(path);
        if (found) return found;
        continue;
      }
      if (++seen > SOURCE_FILES_SEEN) return null;
      const modified = (await Deno.stat(path)).mtime?.getTime() ?? 0;
      if (modified > since) return path;
    }
    return null;
  };
  try {
    return await walk(dirname(main));
  } catch {
    return null; // outside what the server may read, or gone: the prepared bundle stands
  }
}
