/**
 * `healthcheck [--ready] [--timeout 3s]` (spec/ops.md §5): asks the server
 * on this machine whether it is alive (or ready) and exits 0 on 200, else 1.
 * It is the image's `HEALTHCHECK`: the distroless image has no shell and
 * no curl, so the binary checks itself.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { errorMessage } from "../errors.ts";
import { type CliIo, EXIT, URL_FILE } from "./io.ts";
import { loadCliConfig } from "./serve.ts";

const USAGE = "usage: synth-mind healthcheck [--ready] [--timeout 3s] [--config PATH] [--port N]\n";
/** The longest wait accepted, so a typo cannot make a probe hang for hours. */
const MAX_TIMEOUT_MS = 120_000;

/**
 * Parses a duration such as `3s`, `500ms`, `1.5s` or `3` (seconds) into
 * milliseconds; undefined when it is not one.
 */
export function parseTimeout(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(text.trim());
  if (!match) return undefined;
  const ms = match[2] === "ms" ? Number(match[1]) : Number(match[1]) * 1000;
  return ms > 0 && ms <= MAX_TIMEOUT_MS ? ms : undefined;
}

/**
 * The address a check on this machine reaches: a wildcard or loopback bind
 * is asked on 127.0.0.1 (or ::1), a specific address on that address.
 */
export function probeHost(host: string): string {
  const bare = host.replace(/^\[(.*)\]$/, "$1");
  if (bare === "" || bare === "0.0.0.0" || bare === "localhost") return "127.0.0.1";
  if (bare === "::" || bare === "::1") return "[::1]";
  return bare.includes(":") ? `[${bare}]` : bare;
}

/** `healthcheck`: GET `/health/live` (or `/health/ready`) and exit 0 on 200, else 1. */
export async function runHealthcheck(io: CliIo, args: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        ready: { type: "boolean", default: false },
        timeout: { type: "string", default: "3s" },
        config: { type: "string" },
        port: { type: "string" },
      },
    }));
  } catch (error) {
    io.stderr(`${errorMessage(error)}\n${USAGE}`);
    return EXIT.USAGE;
  }
  const timeoutMs = parseTimeout(values.timeout);
  if (timeoutMs === undefined) {
    io.stderr(
      `--timeout must be a duration such as 3s or 500ms, at most 120s (got "${values.timeout}")\n${USAGE}`,
    );
    return EXIT.USAGE;
  }
  const loaded = loadCliConfig(io, { "--config": values.config, "--port": values.port });
  if (typeof loaded === "number") return loaded;
  const { config } = loaded;
  const path = values.ready ? "/health/ready" : "/health/live";

  const tls = config.server.tls.certFile !== null && config.server.tls.keyFile !== null;
  let base: string;
  if (config.server.port === 0) {
    // A server on a random port publishes where it listens in its data directory.
    const urlFile = join(resolve(io.cwd, config.dataDir), URL_FILE);
    try {
      base = (await Deno.readTextFile(urlFile)).trim();
    } catch {
      io.stderr(
        `unhealthy: server.port is 0 and no running server published its address in ${urlFile}\n`,
      );
      return EXIT.FAILURE;
    }
  } else {
    base = `${tls ? "https" : "http"}://${probeHost(config.server.host)}:${config.server.port}`;
  }
  const url = `${base}${path}`;

  let client: Deno.HttpClient | undefined;
  if (base.startsWith("https:") && config.server.tls.certFile !== null) {
    try {
      // Trust the server's own certificate (a development or self-signed one too).
      const cert = await Deno.readTextFile(resolve(io.cwd, config.server.tls.certFile));
      client = Deno.createHttpClient({ caCerts: [cert] });
    } catch (error) {
      io.stderr(
        `unhealthy: cannot read the TLS certificate ${config.server.tls.certFile}: ${
          errorMessage(error)
        }\n`,
      );
      return EXIT.FAILURE;
    }
  }
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
      ...(client ? { client } : {}),
    });
    await response.body?.cancel();
    if (response.status === 200) {
      io.stdout(`healthy: ${url} answered 200\n`);
      return EXIT.OK;
    }
    io.stderr(`unhealthy: ${url} answered ${response.status}\n`);
    return EXIT.FAILURE;
  } catch (error) {
    const reason = error instanceof DOMException && error.name === "TimeoutError"
      ? `no answer within ${timeoutMs} ms`
      : errorMessage(error);
    io.stderr(`unhealthy: ${url}: ${reason}\n`);
    return EXIT.FAILURE;
  } finally {
    client?.close();
  }
}
