/**
 * `deno task compile [--target TRIPLE] [--output PATH]` (spec/ops.md §5):
 * the single binary `dist/synth-mind`, under the `server` permission set,
 * with the dashboard, the built-in profiles and the sandbox and worker
 * sources embedded. Migrations and the vector kernel's `.wasm` are imports,
 * so they are in the module graph already.
 *
 * Compiling downloads Deno's runtime (`denort`) for the target from
 * dl.deno.land; without that network (our build machines) it fails, and
 * this script says so instead of leaving a stack trace. The release
 * workflow and GitHub CI compile for real.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** The targets the release builds (spec/ops.md §5). */
export const COMPILE_TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** One of {@link COMPILE_TARGETS}. */
export type CompileTarget = typeof COMPILE_TARGETS[number];

const REPO_DIR = fileURLToPath(new URL("..", import.meta.url));

/**
 * Files read at run time rather than imported, relative to the repository:
 * the dashboard, the personality profiles, the sandbox's runner (read by
 * the sandboxed child) and every worker module (tools' `worker.ts`, which
 * the tool host reads as text, and `*_worker.ts` started with `new Worker`).
 */
export function compileIncludes(repoDir: string = REPO_DIR): string[] {
  const includes = ["web/dist", "profiles", "src/sandbox"];
  const workers: string[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(join(repoDir, dir))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (/(^|_)worker\.ts$/.test(entry.name) && !path.startsWith("src/sandbox/")) {
        workers.push(path);
      }
    }
  };
  walk("src");
  walk("plugins");
  return [...includes, ...workers.sort()];
}

/**
 * The server's V8 flags, in the start task and the binary alike: 16 MiB semi-spaces (the young
 * generation's halves) mean fewer scavenges during a turn, and the memory reducer may start 2 s
 * after start-up (V8 waits 30 s) and acts after 2 s of low allocation (8 s), so idle memory comes
 * back as soon (docs/benchmarks.md).
 */
export const SERVER_V8_FLAGS =
  "--max-semi-space-size=16,--gc-memory-reducer-start-delay-ms=2000,--memory-reducer-delay-ms=2000";

/** The `deno compile` arguments (after `deno`). Never `--env-file`: Deno would embed it. */
export function compileArgs(
  options: { target?: CompileTarget | undefined; output?: string | undefined; repoDir?: string },
): string[] {
  const output = options.output ?? "dist/synth-mind";
  return [
    "compile",
    "-P=server",
    "--no-prompt",
    `--v8-flags=${SERVER_V8_FLAGS}`,
    "--frozen",
    ...compileIncludes(options.repoDir).flatMap((path) => ["--include", path]),
    ...(options.target ? ["--target", options.target] : []),
    "--output",
    output,
    "src/main.ts",
  ];
}

/** True when `deno compile` failed because it could not download its runtime. */
export function isRuntimeDownloadFailure(stderr: string): boolean {
  return /denort|dl\.deno\.land|Setting up base binary/i.test(stderr) &&
    /error sending request|dns error|Connect|timed out|network|certificate|404 Not Found/i.test(
      stderr,
    );
}

/** What the task prints when the runtime could not be downloaded. */
export function offlineExplanation(target: string): string {
  return [
    "",
    "deno task compile could not download Deno's runtime (denort) for " + target + ".",
    "`deno compile` fetches that runtime from dl.deno.land the first time for each target and",
    "caches it in DENO_DIR; this machine cannot reach it (only the npm registry and Debian's",
    "archive are reachable here).",
    "",
    "Compiling runs in GitHub Actions instead: the `compile` job of .github/workflows/ci.yml",
    "builds and smoke-tests dist/synth-mind, and .github/workflows/release.yml builds the five",
    "targets and the container image for each v*.*.* tag. Locally, run the server with",
    "`deno task start`; see docs/deployment.md.",
    "",
  ].join("\n");
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { target: { type: "string" }, output: { type: "string" } },
  });
  const target = values.target as CompileTarget | undefined;
  if (target !== undefined && !COMPILE_TARGETS.includes(target)) {
    Deno.stderr.writeSync(
      new TextEncoder().encode(
        `Unknown --target "${target}"; use one of: ${COMPILE_TARGETS.join(", ")}\n`,
      ),
    );
    return 64;
  }
  const args = compileArgs({ target, output: values.output });
  Deno.stdout.writeSync(
    new TextEncoder().encode(
      `deno ${args.map((arg) => (arg.includes(" ") ? JSON.stringify(arg) : arg)).join(" ")}\n`,
    ),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO_DIR,
    stdout: "inherit",
    stderr: "piped",
  }).spawn();
  const stderr: string[] = [];
  const decoder = new TextDecoder();
  for await (const chunk of child.stderr) {
    const text = decoder.decode(chunk, { stream: true });
    stderr.push(text);
    Deno.stderr.writeSync(chunk);
  }
  const { code } = await child.status;
  if (code !== 0 && isRuntimeDownloadFailure(stderr.join(""))) {
    const host = `${Deno.build.arch}-${Deno.build.os}`;
    Deno.stderr.writeSync(new TextEncoder().encode(offlineExplanation(target ?? host)));
  } else if (code === 0) {
    const out = values.output ?? "dist/synth-mind";
    Deno.stdout.writeSync(
      new TextEncoder().encode(`compiled ${relative(REPO_DIR, join(REPO_DIR, out))}\n`),
    );
  }
  return code;
}

if (import.meta.main) Deno.exit(await main());
