/**
 * Runs `src/main.ts <command>` as its own process under exactly the
 * `server` permission set (the start task's flags), with a cleared
 * environment, like the server processes of `spawnServer`.
 */
import { join } from "node:path";
import { REPO_DIR, startTaskArgs } from "@synth/testing";

/** The outcome of one CLI process. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time in milliseconds. */
  ms: number;
}

/** The empty config file spawned servers use, so a developer's own never leaks in. */
export const EMPTY_CONFIG: string = join(REPO_DIR, "tests", "fixtures", "server.config.json");

/** `deno run -P=server --no-prompt <repo>/src/main.ts <args…>` with only `env` set. */
export async function runMain(
  args: readonly string[],
  env: Record<string, string>,
): Promise<CliRun> {
  const base = startTaskArgs().filter((arg) => !arg.startsWith("--env-file"));
  const main = base.indexOf("src/main.ts");
  const command = [...base.slice(0, main), join(REPO_DIR, "src/main.ts"), ...args];
  const started = performance.now();
  const output = await new Deno.Command(Deno.execPath(), {
    args: command,
    cwd: REPO_DIR,
    clearEnv: true,
    env: { NO_COLOR: "1", SYNTH_CONFIG: EMPTY_CONFIG, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: output.code,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
    ms: performance.now() - started,
  };
}

/** The port a spawned server listens on. */
export function portOf(url: string): string {
  return new URL(url).port;
}
