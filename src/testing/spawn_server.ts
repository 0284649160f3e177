import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import denoConfig from "../../deno.json" with { type: "json" };

/** The repository root, where `deno.json` lives. */
export const REPO_DIR: string = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/**
 * The argument list of `deno task start`, read from `deno.json`, with the
 * leading `deno` removed. Tests run exactly this, so the server is under
 * exactly the `server` permission set.
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
  /** Extra environment variables (the child gets a cleared environment plus these). */
  env?: Record<string, string>;
  /** Arguments appended to the start task's (after `serve`). */
  args?: string[];
  /**
   * Data directory relative to the repository; it must lie inside `./data`,
   * the only place the `server` set may write. @default data/.test/<random>
   */
  dataDir?: string;
  /** Wait for the `listening` log line. @default true */
  waitForListening?: boolean;
}

/** A server process started by {@link spawnServer}. */
export interface SpawnedServer extends AsyncDisposable {
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
  /** Sends a signal (default SIGTERM) and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

const PASSED_ENV = ["PATH", "HOME", "DENO_DIR", "TMPDIR"];

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
 * @throws {Error} With the server's stderr when it exits before listening.
 */
export async function spawnServer(options: SpawnServerOptions = {}): Promise<SpawnedServer> {
  const relativeDataDir = options.dataDir ?? `data/.test/${crypto.randomUUID()}`;
  const dataDir = join(REPO_DIR, relativeDataDir);
  const env: Record<string, string> = { NO_COLOR: "1", PORT: "0", SYNTH_DATA_DIR: relativeDataDir };
  for (const name of PASSED_ENV) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, options.env);

  const process = new Deno.Command(Deno.execPath(), {
    args: [...startTaskArgs(), ...(options.args ?? [])],
    cwd: REPO_DIR,
    clearEnv: true,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  const stdout: string[] = [];
  const stderr: string[] = [];
  let url = "";
  const listening = Promise.withResolvers<void>();
  const outputs = Promise.all([
    collectLines(process.stdout, stdout, (line) => {
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
  status.then((result) => {
    listening.reject(
      new Error(`The server exited (code ${result.code}) before listening:\n${stderr.join("\n")}`),
    );
  });

  const cleanup = async () => {
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
      try {
        process.kill(signal);
      } catch {
        // already exited
      }
      const result = await status;
      await cleanup();
      return result;
    },
    async [Symbol.asyncDispose]() {
      await server.stop("SIGKILL");
    },
  };

  if (options.waitForListening ?? true) {
    try {
      await listening.promise;
    } catch (error) {
      await cleanup();
      throw error;
    }
  } else {
    listening.promise.catch(() => {});
  }
  return server;
}
