import { isAbsolute, join } from "node:path";
import denoConfig from "../../deno.json" with { type: "json" };
import { REPO_DIR, TEST_DATA_ROOT } from "./paths.ts";
import { BUNDLE_ENV_NAMES } from "../plugin/external/bundle.ts";

/**
 * The argument list of `deno task start`, read from `deno.json`, with the
 * leading `deno` removed. Tests run this, so the server is under exactly
 * the `server` permission set.
 */
export function startTaskArgs(): string[] {
  const task = denoConfig.tasks.start;
  const command = typeof task === "string" ? task : task.command;
  const [program, ...args] = command.split(/\s+/);
  if (program !== "deno") throw new TypeError(`The start task must begin with "deno": ${command}`);
  return args;
}

/** Options for {@link spawnServer}. */
export interface SpawnServerOptions {
  /**
   * Extra environment variables. The child gets a cleared environment with
   * `PORT=0`, its own data directory and an empty config file
   * (`SYNTH_CONFIG`), so a developer's own config and `.env` never leak in.
   */
  env?: Record<string, string>;
  /** Arguments appended to the start task's (after `serve`). */
  args?: string[];
  /** Deno flags added before the entry point, e.g. `--cpu-prof` to profile the server. */
  denoArgs?: string[];
  /** A command the server runs under, e.g. `["prlimit", "--nofile=128", "--"]`. */
  wrap?: string[];
  /**
   * Working directory (absolute, or relative to the repository).
   * @default the repository
   */
  cwd?: string;
  /**
   * Use this data directory (absolute, inside `./data`) and keep it after
   * `stop()`. @default a fresh directory under `data/.test`, removed by `stop()`
   */
  dataDir?: string;
  /** Keep the start task's `--env-file=.env` (read from `cwd`). @default false */
  useEnvFile?: boolean;
  /** Wait for the `listening` log line. @default true */
  waitForListening?: boolean;
  /** Give up (and kill the child) when it is not listening by then. @default 30000 */
  listenTimeoutMs?: number;
}

/** A server process started by {@link spawnServer}. */
export interface SpawnedServer extends AsyncDisposable {
  /** The `deno` child process. */
  readonly process: Deno.ChildProcess;
  /** `http://127.0.0.1:<port>` once listening, else "". */
  readonly url: string;
  /** Absolute data directory. */
  readonly dataDir: string;
  /** Lines written to stdout so far (JSON log records). */
  readonly stdout: string[];
  /** Lines written to stderr so far. */
  readonly stderr: string[];
  /** Resolves with the exit status once the process ends. */
  readonly status: Promise<Deno.CommandStatus>;
  /** Sends a signal (default SIGTERM) unless it exited, and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
  /** Resolves with the first stdout line (so far or to come) that contains `text`. */
  untilLine(text: string): Promise<string>;
}

/** Deno's cache, and the certificate and proxy settings bundling a plugin may need. */
const PASSED_ENV = BUNDLE_ENV_NAMES;
const EMPTY_CONFIG = join(REPO_DIR, "tests", "fixtures", "server.config.json");

async function collectLines(
  stream: ReadableStream<Uint8Array>,
  into: string[],
  onLine: (line: string) => void,
): Promise<void> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      into.push(line);
      onLine(line);
    }
  }
  if (buffer) {
    into.push(buffer);
    onLine(buffer);
  }
}

/**
 * Starts the real start command (`deno run -P=server … src/main.ts serve`)
 * on a free port with its own data directory, and waits until it listens.
 *
 * @throws {Error} With the server's stderr when it exits, or does not
 * listen in time, before listening.
 */
export async function spawnServer(options: SpawnServerOptions = {}): Promise<SpawnedServer> {
  const dataDir = options.dataDir ?? join(TEST_DATA_ROOT, crypto.randomUUID());
  const cwd = options.cwd === undefined
    ? REPO_DIR
    : isAbsolute(options.cwd)
    ? options.cwd
    : join(REPO_DIR, options.cwd);
  const env: Record<string, string> = {
    NO_COLOR: "1",
    PORT: "0",
    SYNTH_DATA_DIR: dataDir,
    SYNTH_CONFIG: EMPTY_CONFIG,
    // A developer's local Ollama must not answer for the test's server.
    SYNTH_LLM_AUTODETECT_OLLAMA: "false",
    // Tests of other features act as the local administrator, unlimited; auth tests set "true".
    SYNTH_AUTH_ENABLED: "false",
    SYNTH_RATE_LIMIT_ENABLED: "false",
  };
  for (const name of PASSED_ENV) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, options.env);
  const args = startTaskArgs()
    .filter((arg) => options.useEnvFile || !arg.startsWith("--env-file"))
    .flatMap((arg) =>
      arg === "src/main.ts" ? [...(options.denoArgs ?? []), join(REPO_DIR, arg)] : [arg]
    );

  const [wrapper, ...wrapArgs] = options.wrap ?? [];
  const process = new Deno.Command(wrapper ?? Deno.execPath(), {
    args: [...(wrapper ? [...wrapArgs, Deno.execPath()] : []), ...args, ...(options.args ?? [])],
    cwd,
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  const stdout: string[] = [];
  const stderr: string[] = [];
  const lineWaiters = new Set<{ text: string; resolve: (line: string) => void }>();
  let url = "";
  const listening = Promise.withResolvers<void>();
  const outputs = Promise.all([
    collectLines(process.stdout, stdout, (line) => {
      for (const waiter of [...lineWaiters]) {
        if (!line.includes(waiter.text)) continue;
        lineWaiters.delete(waiter);
        waiter.resolve(line);
      }
      try {
        const record = JSON.parse(line);
        if (record.msg === "listening" && typeof record.url === "string") {
          url = record.url;
          listening.resolve();
        }
      } catch {
        // not a log record (e.g. --print-config output); kept in stdout
      }
    }),
    collectLines(process.stderr, stderr, () => {}),
  ]);
  const status = outputs.then(() => process.status);
  let exited = false;
  status.then((result) => {
    exited = true;
    listening.reject(
      new Error(`The server exited (code ${result.code}) before listening:\n${stderr.join("\n")}`),
    );
  });

  const removeDataDir = async () => {
    if (options.dataDir === undefined) {
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  };
  const server: SpawnedServer = {
    process,
    get url() {
      return url;
    },
    dataDir,
    stdout,
    stderr,
    status,
    async stop(signal: Deno.Signal = "SIGTERM") {
      if (!exited) {
        try {
          process.kill(signal);
        } catch {
          // it exited meanwhile
        }
      }
      const result = await status;
      await removeDataDir();
      return result;
    },
    untilLine(text) {
      const found = stdout.find((line) => line.includes(text));
      if (found !== undefined) return Promise.resolve(found);
      const { promise, resolve } = Promise.withResolvers<string>();
      lineWaiters.add({ text, resolve });
      return promise;
    },
    async [Symbol.asyncDispose]() {
      await server.stop("SIGKILL");
    },
  };

  if (!(options.waitForListening ?? true)) {
    listening.promise.catch(() => {});
    return server;
  }
  const timeoutMs = options.listenTimeoutMs ?? 30_000;
  const deadline = setTimeout(() => {
    listening.reject(
      new Error(`The server did not listen within ${timeoutMs} ms:\n${stderr.join("\n")}`),
    );
  }, timeoutMs);
  try {
    await listening.promise;
    return server;
  } catch (error) {
    await server.stop("SIGKILL");
    throw error;
  } finally {
    clearTimeout(deadline);
  }
}
