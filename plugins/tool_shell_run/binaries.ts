/**
 * The binaries `shell_run` may start and what each accepts (spec/tools.md
 * §6's table), plus the operator's additions from `tools.shell.binaries`.
 * Pure data: the checker in `parse.ts` reads it, nothing here does I/O.
 *
 * @module
 */
import type { ShellBinaryConfig } from "@synth/kernel";

/**
 * How an option's value is checked:
 * - `integer`: digits only (`5`);
 * - `signed_integer`: digits with an optional leading `+` (`tail -n +2`);
 * - `keydef`: a `sort -k` key (`2`, `2,3`, `1.2n,1.5`);
 * - `char`: exactly one character (`sort -t ,`);
 * - `text`: anything (operator binaries only);
 * - `iso`: an optional value attached to the option, `date` or `seconds`
 *   (`date -I`, `-Idate`, `-Iseconds`); never taken from the next word.
 */
export type ValueKind = "integer" | "signed_integer" | "keydef" | "char" | "text" | "iso";

/**
 * What a binary's operands are:
 * - `none`: no operands;
 * - `paths`: workspace paths (spec/tools.md §5);
 * - `text`: any text (`echo`);
 * - `format`: a `+FORMAT` (`date`);
 * - `names`: names of binaries in the table (`which`).
 */
export type OperandKind = "none" | "paths" | "text" | "format" | "names";

/** One binary's allow-list. */
export interface BinarySpec {
  /** Options without a value, as exact tokens (`-a`, `--all`). */
  flags: readonly string[];
  /** Options with a value, by exact token, and how the value is checked. */
  valueOptions: Readonly<Record<string, ValueKind>>;
  /** Operands: their kind and how many (inclusive). */
  operands: { kind: OperandKind; min: number; max: number; note?: string };
  /**
   * Whether folder operands are searched for symbolic links before running
   * (the binary would follow links inside them): `top` the folder's own
   * entries, `recursive` the whole tree, `recursive-with:<flag>` the whole
   * tree when that flag is given, else the top. @default none
   */
  scanFolders?: "top" | "recursive" | `recursive-with:${string}`;
}

const MAX_OPERANDS = 31;
const NO_OPERANDS = { kind: "none", min: 0, max: 0 } as const;
const FILES = { kind: "paths", min: 1, max: MAX_OPERANDS } as const;
const COUNTS = { "-n": "integer", "-c": "integer" } as const;

/** The built-in binaries (spec/tools.md §6). */
export const BUILTIN_BINARIES: Readonly<Record<string, BinarySpec>> = {
  ls: {
    flags: ["-a", "-A", "-l", "-h", "-1", "-R", "-S", "-t", "-r", "-F"],
    valueOptions: {},
    operands: { kind: "paths", min: 0, max: MAX_OPERANDS },
  },
  pwd: { flags: [], valueOptions: {}, operands: NO_OPERANDS },
  whoami: { flags: [], valueOptions: {}, operands: NO_OPERANDS },
  date: {
    flags: ["-u", "-R"],
    valueOptions: { "-I": "iso" },
    operands: { kind: "format", min: 0, max: 1 },
  },
  echo: {
    flags: ["-n", "-e", "-E"],
    valueOptions: {},
    operands: { kind: "text", min: 0, max: MAX_OPERANDS },
  },
  head: { flags: ["-q", "-v"], valueOptions: COUNTS, operands: FILES },
  tail: {
    flags: ["-q", "-v"],
    valueOptions: { "-n": "signed_integer", "-c": "signed_integer" },
    operands: FILES,
  },
  wc: { flags: ["-l", "-w", "-c", "-m", "-L"], valueOptions: {}, operands: FILES },
  sort: {
    flags: ["-b", "-d", "-f", "-g", "-h", "-i", "-M", "-n", "-r", "-s", "-u", "-V"],
    valueOptions: { "-k": "keydef", "-t": "char" },
    operands: FILES,
  },
  uniq: {
    flags: ["-c", "-d", "-u", "-i"],
    valueOptions: { "-f": "integer", "-s": "integer", "-w": "integer" },
    operands: { kind: "paths", min: 1, max: 1, note: "a second operand would be written" },
  },
  diff: {
    flags: ["-u", "-c", "-q", "-s", "-i", "-w", "-b", "-B", "-y", "-N", "-r", "-t"],
    valueOptions: { "-U": "integer", "-C": "integer" },
    operands: { kind: "paths", min: 2, max: 2 },
    // diff compares the files inside folder operands and follows links there.
    scanFolders: "recursive-with:-r",
  },
  which: { flags: [], valueOptions: {}, operands: { kind: "names", min: 1, max: MAX_OPERANDS } },
};

/**
 * The table a call uses: the built-in binaries and the operator's
 * `tools.shell.binaries` (an operator entry replaces a built-in one of the
 * same name). Operator binaries get their folder operands searched for
 * symbolic links recursively, since what they follow is unknown.
 */
export function binaryTable(
  extra: Readonly<Record<string, ShellBinaryConfig>>,
): Readonly<Record<string, BinarySpec>> {
  const table: Record<string, BinarySpec> = { ...BUILTIN_BINARIES };
  for (const [name, config] of Object.entries(extra)) {
    table[name] = {
      flags: config.options,
      valueOptions: config.valueOptions,
      operands: {
        kind: config.operands.kind,
        min: config.operands.min,
        max: Math.min(config.operands.max, MAX_OPERANDS),
      },
      scanFolders: "recursive",
    };
  }
  return table;
}

const PLACEHOLDER: Record<ValueKind, string> = {
  integer: " N",
  signed_integer: " [+]N",
  keydef: " KEYDEF",
  char: " CHAR",
  text: " VALUE",
  iso: "[date|seconds]",
};

/** The allow-list as a user reads it: `-a -l -n N -k KEYDEF`, or `none`. */
export function describeOptions(spec: BinarySpec): string {
  const parts = [
    ...spec.flags,
    ...Object.entries(spec.valueOptions).map(([option, kind]) => option + PLACEHOLDER[kind]),
  ];
  return parts.length > 0 ? parts.join(" ") : "none";
}
