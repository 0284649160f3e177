/**
 * The `shell_run` command line (spec/tools.md §6), checked on the host
 * before any sandbox starts: shell-like quoting and nothing else, then each
 * word read the way the binary's GNU `getopt_long` will read it — clusters
 * split, values attached or in the next word, every `-word` before `--` an
 * option wherever it stands — and held against the binary's allow-list.
 * Pure functions; paths are checked against the workspace by `mod.ts`.
 *
 * @module
 */
import { clipText, ToolError } from "@synth/kernel";
import { type BinarySpec, describeOptions, type ValueKind } from "./binaries.ts";
import { SHELL_ERRORS } from "./errors.ts";

/** Most words in a command, the binary's name included. */
export const MAX_WORDS = 32;

const quote = (text: string) => JSON.stringify(clipText(text, 61));

/**
 * Splits a command into words: blanks separate words; `'…'` keeps
 * everything literally; `"…"` keeps everything but `\"`, `\\`, `\$`, `` \` ``
 * and backslash-newline; outside quotes a backslash keeps the next character
 * (backslash-newline joins lines). Nothing else is special: `; | & $ * ? <
 * > ( ) #` and backticks are plain characters.
 *
 * @throws {ToolError} `TOOLS_SHELL_SYNTAX` for an open quote, a trailing
 * backslash, a NUL, no words, or more than {@link MAX_WORDS} words.
 */
export function splitWords(command: string): string[] {
  if (command.includes("\0")) {
    throw new ToolError(SHELL_ERRORS.SYNTAX, "The command contains a NUL character");
  }
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  const end = () => {
    if (inWord) words.push(word);
    word = "";
    inWord = false;
  };
  while (i < command.length) {
    const char = command[i]!;
    if (char === " " || char === "\t" || char === "\n" || char === "\r") {
      end();
      i++;
    } else if (char === "'") {
      const close = command.indexOf("'", i + 1);
      if (close < 0) {
        throw new ToolError(SHELL_ERRORS.SYNTAX, `Unclosed single quote at character ${i + 1}`);
      }
      word += command.slice(i + 1, close);
      inWord = true;
      i = close + 1;
    } else if (char === '"') {
      let j = i + 1;
      for (;;) {
        if (j >= command.length) {
          throw new ToolError(SHELL_ERRORS.SYNTAX, `Unclosed double quote at character ${i + 1}`);
        }
        const inner = command[j]!;
        if (inner === '"') break;
        if (inner === "\\" && j + 1 < command.length && '"\\$`\n'.includes(command[j + 1]!)) {
          if (command[j + 1] !== "\n") word += command[j + 1];
          j += 2;
        } else {
          word += inner;
          j++;
        }
      }
      inWord = true;
      i = j + 1;
    } else if (char === "\\") {
      if (i + 1 >= command.length) {
        throw new ToolError(
          SHELL_ERRORS.SYNTAX,
          "The command ends with a backslash that escapes nothing",
        );
      }
      if (command[i + 1] !== "\n") {
        word += command[i + 1];
        inWord = true;
      }
      i += 2;
    } else {
      word += char;
      inWord = true;
      i++;
    }
  }
  end();
  if (words.length === 0) throw new ToolError(SHELL_ERRORS.SYNTAX, "The command is empty");
  if (words.length > MAX_WORDS) {
    throw new ToolError(
      SHELL_ERRORS.SYNTAX,
      `The command has ${words.length} words; at most ${MAX_WORDS} are allowed`,
    );
  }
  return words;
}

/** A checked command, ready for the workspace check and the sandbox. */
export interface CommandPlan {
  /** The binary's name (the first word). */
  binary: string;
  /** The words after the binary, as the binary will get them (paths still as given). */
  args: string[];
  /** The options used, by their allow-list token (`-r`, `-k`), in order. */
  options: string[];
  /** Operands that are workspace paths: their index in `args` and the word. */
  paths: Array<{ index: number; word: string }>;
}

const KEY_FIELD = String.raw`\d{1,9}(\.\d{1,9})?[bdfgiMhnrV]*`;
const KEYDEF = new RegExp(`^${KEY_FIELD}(,${KEY_FIELD})?$`);

/** Why a value does not fit its kind, or null when it does. */
function valueProblem(kind: ValueKind, value: string): string | null {
  switch (kind) {
    case "integer":
      return /^\d{1,12}$/.test(value) ? null : "must be a whole number";
    case "signed_integer":
      return /^\+?\d{1,12}$/.test(value) ? null : "must be a whole number, optionally with a +";
    case "keydef":
      return KEYDEF.test(value) ? null : "must be a sort key like 2, 2,3 or 1.2n,1.5";
    case "char":
      return [...value].length === 1 ? null : "must be exactly one character";
    case "iso":
      return value === "" || value === "date" || value === "seconds"
        ? null
        : "may only be date or seconds";
    case "text":
      return null;
  }
}

/** Reads the words of one binary against its allow-list. */
class Checker {
  readonly options: string[] = [];
  readonly operands: Array<{ index: number; word: string }> = [];
  readonly #name: string;
  readonly #spec: BinarySpec;
  readonly #words: readonly string[];

  constructor(name: string, spec: BinarySpec, words: readonly string[]) {
    this.#name = name;
    this.#spec = spec;
    this.#words = words;
  }

  /** Refuses an option that is not on the allow-list (or used wrongly). */
  refuse(option: string, why = "is not allowed"): never {
    throw new ToolError(
      SHELL_ERRORS.OPTION_NOT_ALLOWED,
      `The option ${quote(option)} ${why} for ${this.#name}; allowed options: ${
        describeOptions(this.#spec)
      }`,
    );
  }

  /** Checks the value given to `option` (undefined: the command ended first). */
  value(option: string, value: string | undefined): void {
    const kind = this.#spec.valueOptions[option]!;
    const problem = value === undefined ? "is missing" : valueProblem(kind, value);
    if (problem === null) return;
    throw new ToolError(
      SHELL_ERRORS.OPTION_NOT_ALLOWED,
      `The value ${value === undefined ? "" : `${quote(value)} `}of the option ${
        quote(option)
      } of ${this.#name} ${problem}`,
    );
  }

  /** Reads all words into `options` and `operands`. */
  run(): void {
    const words = this.#words;
    let optionsEnded = false;
    for (let index = 0; index < words.length; index++) {
      const word = words[index]!;
      if (optionsEnded || !word.startsWith("-")) {
        this.operands.push({ index, word });
      } else if (word === "--") {
        optionsEnded = true;
      } else if (word === "-") {
        this.refuse("-", "(standard input) is not allowed");
      } else if (word.startsWith("--")) {
        index = this.#long(word, index);
      } else {
        index = this.#short(word, index);
      }
    }
  }

  /** `--name`, `--name=value` or `--name value`: exact names only (no GNU prefixes). */
  #long(word: string, index: number): number {
    const equals = word.indexOf("=");
    const name = equals < 0 ? word : word.slice(0, equals);
    if (this.#spec.flags.includes(name)) {
      if (equals >= 0) this.refuse(name, "takes no value");
      this.options.push(name);
      return index;
    }
    if (!Object.hasOwn(this.#spec.valueOptions, name)) this.refuse(name);
    this.options.push(name);
    if (equals >= 0) {
      this.value(name, word.slice(equals + 1));
      return index;
    }
    if (this.#spec.valueOptions[name] === "iso") {
      this.value(name, "");
      return index;
    }
    this.value(name, this.#words[index + 1]);
    return index + 1;
  }

  /** `-abc` (a cluster), `-n5`, `-n 5`, or an exact multi-letter token an operator listed. */
  #short(word: string, index: number): number {
    if (word.length > 2 && this.#spec.flags.includes(word)) {
      this.options.push(word);
      return index;
    }
    if (word.length > 2 && Object.hasOwn(this.#spec.valueOptions, word)) {
      this.options.push(word);
      this.value(word, this.#words[index + 1]);
      return index + 1;
    }
    const letters = [...word.slice(1)];
    for (let i = 0; i < letters.length; i++) {
      const option = `-${letters[i]}`;
      if (this.#spec.flags.includes(option)) {
        this.options.push(option);
        continue;
      }
      if (!Object.hasOwn(this.#spec.valueOptions, option)) this.refuse(option);
      this.options.push(option);
      // As getopt: the rest of the cluster is the value, else the next word.
      const rest = letters.slice(i + 1).join("");
      if (rest !== "" || this.#spec.valueOptions[option] === "iso") {
        this.value(option, rest);
        return index;
      }
      this.value(option, this.#words[index + 1]);
      return index + 1;
    }
    return index;
  }
}

/**
 * Parses `command` and checks it against `table`: the binary is known, every
 * option is on its allow-list with a valid value, and the operands fit the
 * binary (count and kind). Path operands are returned for the workspace
 * check.
 *
 * @throws {ToolError} `TOOLS_SHELL_SYNTAX`, `TOOLS_SHELL_UNKNOWN_BINARY`,
 * `TOOLS_SHELL_OPTION_NOT_ALLOWED` (naming the option and the binary) or
 * `TOOLS_SHELL_OPERAND_NOT_ALLOWED`.
 */
export function planCommand(
  command: string,
  table: Readonly<Record<string, BinarySpec>>,
): CommandPlan {
  const [binary, ...args] = splitWords(command);
  const names = Object.keys(table).sort();
  if (!Object.hasOwn(table, binary!)) {
    const hint = binary!.includes("/") ? " (give the name only, without a folder)" : "";
    throw new ToolError(
      SHELL_ERRORS.UNKNOWN_BINARY,
      `Unknown binary ${quote(binary!)}${hint}; shell_run runs only: ${names.join(", ")}`,
    );
  }
  const spec = table[binary!]!;
  const checker = new Checker(binary!, spec, args);
  checker.run();
  const { operands } = checker;
  const { kind, min, max, note } = spec.operands;
  const operandError = (message: string) =>
    new ToolError(SHELL_ERRORS.OPERAND_NOT_ALLOWED, `${binary}: ${message}`);
  if (operands.length < min || operands.length > max) {
    const wanted = max === 0
      ? "no operands"
      : min === max
      ? `exactly ${min} operand${min === 1 ? "" : "s"}`
      : max >= MAX_WORDS - 1
      ? `at least ${min} operand${min === 1 ? "" : "s"}`
      : `${min} to ${max} operands`;
    const given = operands.map((operand) => quote(operand.word)).join(", ");
    throw operandError(
      `takes ${wanted}, got ${operands.length}${given ? ` (${given})` : ""}${
        note && operands.length > max ? `; ${note}` : ""
      }`,
    );
  }
  for (const { word } of operands) {
    if (kind === "paths" && word === "-") {
      throw operandError(`the operand "-" (standard input) is not allowed`);
    }
    if (kind === "format" && !word.startsWith("+")) {
      throw operandError(
        `the operand ${quote(word)} is not allowed; give only a format starting with +`,
      );
    }
    if (kind === "names" && !Object.hasOwn(table, word)) {
      throw operandError(
        `the operand ${quote(word)} is not allowed; give names of: ${names.join(", ")}`,
      );
    }
  }
  return {
    binary: binary!,
    args,
    options: checker.options,
    paths: kind === "paths" ? operands : [],
  };
}
