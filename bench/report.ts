/** One line of a bench table. */
export interface Row {
  measure: string;
  ours: string;
  baseline: string;
  ratio: string;
  target: string;
  /** null when the measure has no target. */
  pass: boolean | null;
}

/** A formatted number, or "n/a". */
export function fmt(value: number, digits = 0): string {
  return Number.isFinite(value)
    ? value.toLocaleString("en-US", {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    })
    : "n/a";
}

/** `ours ÷ base` as `1.23×`. */
export function ratio(ours: number, base: number): string {
  return base > 0 && Number.isFinite(ours) ? `${(ours / base).toFixed(2)}×` : "";
}

/** Prints a table with a title. */
export function printTable(title: string, baselineName: string, rows: readonly Row[]): void {
  printGrid(
    title,
    ["measure", "synth-mind", baselineName, "ratio", "target", "result"],
    rows.map((row) => [
      row.measure,
      row.ours,
      row.baseline,
      row.ratio,
      row.target,
      row.pass === null ? "" : row.pass ? "PASS" : "FAIL",
    ]),
  );
}

/** Prints a title, then `header` and `cells` in aligned columns. */
export function printGrid(
  title: string,
  header: readonly string[],
  cells: ReadonlyArray<readonly string[]>,
): void {
  const widths = header.map((name, i) =>
    Math.max(name.length, ...cells.map((line) => line[i]!.length))
  );
  const line = (values: readonly string[]) =>
    values.map((value, i) => value.padEnd(widths[i]!)).join("  ").trimEnd();
  // deno-lint-ignore no-console
  console.log(
    `\n${title}\n${line(header)}\n${line(widths.map((width) => "-".repeat(width)))}\n${
      cells.map(line).join("\n")
    }`,
  );
}

/** A progress line on stderr. */
export function progress(step: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(`… ${step}\n`));
}

/** p-th percentile of sorted numbers. */
export function percentile(sorted: ArrayLike<number>, fraction: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

/** Mean of numbers. */
export function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/**
 * Starts `deno run <args>` in the repository and resolves with the child
 * and the first line it prints (the address it listens on).
 */
export async function startDenoChild(
  args: readonly string[],
  cwd: string,
): Promise<{ child: Deno.ChildProcess; firstLine: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...args],
    cwd,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  while (!buffer.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`deno run ${args.at(-1)} exited before printing its address`);
    buffer += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return { child, firstLine: buffer.split("\n")[0]! };
}
