/** Figures of one load run. */
export interface LoadResult {
  client: "wrk" | "fetch";
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

/** Options for {@link runLoad}. */
export interface LoadOptions {
  connections: number;
  warmupSeconds: number;
  seconds: number;
  /** Sent with every request (the API key). */
  headers?: Readonly<Record<string, string>>;
}

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

async function fetchLoops(
  url: string,
  options: LoadOptions,
  seconds: number,
  record: boolean,
) {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: options.connections }, async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      try {
        const response = await fetch(url, { headers: options.headers ?? {} });
        await response.arrayBuffer();
        if (!response.ok) errors++;
      } catch {
        errors++;
      }
      if (record) latencies.push(performance.now() - started);
    }
  }));
  return { latencies, errors };
}

async function hasWrk(): Promise<boolean> {
  try {
    await new Deno.Command("wrk", { args: ["--version"], stdout: "null", stderr: "null" }).output();
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function parseWrkMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (!match) return NaN;
  const value = Number(match[1]);
  return match[2] === "us" ? value / 1000 : match[2] === "s" ? value * 1000 : value;
}

async function wrk(url: string, options: LoadOptions): Promise<LoadResult> {
  const run = (seconds: number) =>
    new Deno.Command("wrk", {
      args: [
        "-t2",
        `-c${options.connections}`,
        `-d${seconds}s`,
        "--latency",
        ...Object.entries(options.headers ?? {}).flatMap(([name, value]) => [
          "-H",
          `${name}: ${value}`,
        ]),
        url,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
  await run(options.warmupSeconds);
  const output = new TextDecoder().decode((await run(options.seconds)).stdout);
  const requests = Number(/(\d+) requests in/.exec(output)?.[1] ?? NaN);
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0) +
    [...output.matchAll(/(?:connect|read|write|timeout) (\d+)/g)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
  return {
    client: "wrk",
    requests,
    errors,
    seconds: options.seconds,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(output)?.[1] ?? NaN),
    p50Ms: parseWrkMs(/\s50%\s+(\S+)/.exec(output)?.[1] ?? ""),
    p99Ms: parseWrkMs(/\s99%\s+(\S+)/.exec(output)?.[1] ?? ""),
  };
}

/**
 * Loads `url` with keep-alive connections: `wrk` when installed, else
 * concurrent fetch loops in this process (which then shares the CPU with
 * the server, so its figures are lower bounds).
 */
export async function runLoad(url: string, options: LoadOptions): Promise<LoadResult> {
  if (await hasWrk()) return await wrk(url, options);
  await fetchLoops(url, options, options.warmupSeconds, false);
  const { latencies, errors } = await fetchLoops(url, options, options.seconds, true);
  const sorted = Float64Array.from(latencies).sort();
  return {
    client: "fetch",
    requests: latencies.length,
    errors,
    seconds: options.seconds,
    rps: latencies.length / options.seconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
  };
}

/**
 * Resident memory of another process in bytes. Deno lets only `-A` read
 * another process's `/proc/<pid>/status`, so this asks `ps`.
 */
export async function residentBytes(pid: number): Promise<number> {
  const output = await new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)] }).output();
  const kib = Number(new TextDecoder().decode(output.stdout).trim());
  return output.success && Number.isFinite(kib) ? kib * 1024 : NaN;
}
