/**
 * The sandboxed half of `calculator` (spec/tools.md §2): a recursive-descent
 * parser that evaluates as it parses. No `eval`, no `Function`: only the
 * grammar below can run.
 *
 * ```
 * sum     = product (("+" | "-") product)*
 * product = unary (("*" | "/" | "%") unary)*
 * unary   = ("+" | "-") unary | power
 * power   = primary ("**" unary)?          right-associative
 * primary = number | constant | name "(" sum ("," sum)* ")" | "(" sum ")"
 * ```
 *
 * `**` binds tighter than a unary sign on its left, as in mathematics and
 * Python: `-2 ** 2` is `-(2 ** 2)` = -4 (JavaScript refuses that
 * expression). A sign is allowed on its right: `2 ** -1` = 0.5. Names are
 * matched case-insensitively (`PI`, `Sqrt`). Positions in messages count
 * characters from 1.
 *
 * Self-contained: it runs as a blob module in the sandbox, so only
 * `import type` is allowed.
 *
 * @module
 */
import type { WorkerContext } from "@synth/kernel";

/** How deep parentheses, calls, signs and `**` chains may nest. */
export const MAX_DEPTH = 64;

const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E };

interface CalcFunction {
  min: number;
  max: number;
  apply(args: number[]): number;
}

const unary = (fn: (x: number) => number): CalcFunction => ({
  min: 1,
  max: 1,
  apply: (args) => fn(args[0]!),
});
const binary = (fn: (x: number, y: number) => number): CalcFunction => ({
  min: 2,
  max: 2,
  apply: (args) => fn(args[0]!, args[1]!),
});
const variadic = (fn: (...xs: number[]) => number): CalcFunction => ({
  min: 1,
  max: Infinity,
  apply: (args) => fn(...args),
});

const FUNCTIONS: Record<string, CalcFunction> = {
  abs: unary(Math.abs),
  round: unary(Math.round),
  floor: unary(Math.floor),
  ceil: unary(Math.ceil),
  min: variadic(Math.min),
  max: variadic(Math.max),
  sum: variadic((...xs) => xs.reduce((total, x) => total + x, 0)),
  pow: binary(Math.pow),
  sqrt: unary(Math.sqrt),
  cbrt: unary(Math.cbrt),
  exp: unary(Math.exp),
  log: unary(Math.log),
  log10: unary(Math.log10),
  log2: unary(Math.log2),
  sin: unary(Math.sin),
  cos: unary(Math.cos),
  tan: unary(Math.tan),
  asin: unary(Math.asin),
  acos: unary(Math.acos),
  atan: unary(Math.atan),
  atan2: binary(Math.atan2),
  hypot: variadic(Math.hypot),
};

function calcError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

type Token =
  | { kind: "number"; value: number; pos: number; text: string }
  | { kind: "name"; value: string; pos: number; text: string }
  | { kind: "op"; value: string; pos: number; text: string }
  | { kind: "end"; pos: number; text: string };

const NUMBER = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

function syntaxError(message: string, pos: number): Error {
  return calcError("TOOLS_CALC_SYNTAX", `${message} at position ${pos + 1}`);
}

/** Splits an expression into tokens; positions are 0-based offsets. */
function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expression.length) {
    const char = expression[i]!;
    if (/\s/.test(char)) {
      i++;
      continue;
    }
    if (/[\d.]/.test(char)) {
      const match = NUMBER.exec(expression.slice(i));
      if (!match) throw syntaxError(`Invalid number "${char}"`, i);
      const text = match[0];
      const next = expression[i + text.length];
      if (next === "e" || next === "E") {
        throw syntaxError(`Invalid number "${text}${next}": an exponent needs digits`, i);
      }
      if (next === ".") throw syntaxError(`Invalid number "${text}."`, i);
      if (next !== undefined && /[A-Za-z0-9_]/.test(next)) {
        throw syntaxError(
          `Missing an operator after the number "${text}" (write 2 * pi, not 2pi)`,
          i + text.length,
        );
      }
      tokens.push({ kind: "number", value: Number(text), pos: i, text });
      i += text.length;
      continue;
    }
    if (/[A-Za-z_]/.test(char)) {
      const text = NAME.exec(expression.slice(i))![0];
      tokens.push({ kind: "name", value: text.toLowerCase(), pos: i, text });
      i += text.length;
      continue;
    }
    if (char === "*" && expression[i + 1] === "*") {
      tokens.push({ kind: "op", value: "**", pos: i, text: "**" });
      i += 2;
      continue;
    }
    if ("+-*/%(),".includes(char)) {
      tokens.push({ kind: "op", value: char, pos: i, text: char });
      i++;
      continue;
    }
    if (char === "^") {
      throw syntaxError('"^" is not supported (use ** for powers, e.g. 2 ** 10)', i);
    }
    const shown = String.fromCodePoint(expression.codePointAt(i)!);
    throw syntaxError(`Unexpected character "${shown}"`, i);
  }
  tokens.push({ kind: "end", pos: expression.length, text: "end of input" });
  return tokens;
}

class Parser {
  #index = 0;
  #depth = 0;
  constructor(private readonly tokens: Token[]) {}

  get #token(): Token {
    return this.tokens[this.#index]!;
  }

  #isOp(value: string): boolean {
    const token = this.#token;
    return token.kind === "op" && token.value === value;
  }

  #expect(value: string): void {
    if (!this.#isOp(value)) throw this.#unexpected(`expected "${value}"`);
    this.#index++;
  }

  #unexpected(hint?: string): Error {
    const token = this.#token;
    const what = token.kind === "end" ? "Unexpected end of input" : `Unexpected "${token.text}"`;
    return syntaxError(hint ? `${what} (${hint})` : what, token.pos);
  }

  #enter(): void {
    if (++this.#depth > MAX_DEPTH) {
      throw calcError(
        "TOOLS_CALC_TOO_DEEP",
        `The expression nests deeper than ${MAX_DEPTH} levels (parentheses, calls, signs and ** chains) at position ${
          this.#token.pos + 1
        }`,
      );
    }
  }

  parse(): number {
    const value = this.#sum();
    if (this.#token.kind !== "end") throw this.#unexpected("expected an operator");
    return value;
  }

  #sum(): number {
    let value = this.#product();
    while (this.#isOp("+") || this.#isOp("-")) {
      const op = (this.#token as { value: string }).value;
      this.#index++;
      const right = this.#product();
      value = op === "+" ? value + right : value - right;
    }
    return value;
  }

  #product(): number {
    let value = this.#unary();
    while (this.#isOp("*") || this.#isOp("/") || this.#isOp("%")) {
      const op = (this.#token as { value: string }).value;
      this.#index++;
      const right = this.#unary();
      value = op === "*" ? value * right : op === "/" ? value / right : value % right;
    }
    return value;
  }

  #unary(): number {
    if (this.#isOp("+") || this.#isOp("-")) {
      const negate = this.#isOp("-");
      this.#index++;
      this.#enter();
      const value = this.#unary();
      this.#depth--;
      return negate ? -value : value;
    }
    return this.#power();
  }

  #power(): number {
    const base = this.#primary();
    if (!this.#isOp("**")) return base;
    this.#index++;
    this.#enter();
    const exponent = this.#unary();
    this.#depth--;
    return base ** exponent;
  }

  #primary(): number {
    const token = this.#token;
    if (token.kind === "number") {
      this.#index++;
      return token.value;
    }
    if (token.kind === "op" && token.value === "(") {
      this.#index++;
      this.#enter();
      const value = this.#sum();
      this.#expect(")");
      this.#depth--;
      return value;
    }
    if (token.kind === "name") return this.#name(token);
    throw this.#unexpected('expected a number, a name or "("');
  }

  #name(token: Extract<Token, { kind: "name" }>): number {
    this.#index++;
    const called = this.#isOp("(");
    if (Object.hasOwn(CONSTANTS, token.value)) {
      if (called) {
        throw syntaxError(`"${token.text}" is a constant, not a function`, this.#token.pos);
      }
      return CONSTANTS[token.value]!;
    }
    if (!Object.hasOwn(FUNCTIONS, token.value)) {
      throw calcError(
        "TOOLS_CALC_UNKNOWN_NAME",
        `Unknown name "${token.text}" at position ${token.pos + 1}; known constants: ${
          Object.keys(CONSTANTS).join(", ")
        }; functions: ${Object.keys(FUNCTIONS).join(", ")}`,
      );
    }
    const fn = FUNCTIONS[token.value]!;
    if (!called) {
      throw syntaxError(
        `"${token.text}" is a function: call it with parentheses, e.g. ${token.value}(x)`,
        token.pos,
      );
    }
    this.#index++;
    this.#enter();
    const args: number[] = [];
    if (!this.#isOp(")")) {
      args.push(this.#sum());
      while (this.#isOp(",")) {
        this.#index++;
        args.push(this.#sum());
      }
    }
    this.#expect(")");
    this.#depth--;
    if (args.length < fn.min || args.length > fn.max) {
      const wanted = fn.max === Infinity
        ? `at least ${fn.min} argument${fn.min === 1 ? "" : "s"}`
        : `${fn.min} argument${fn.min === 1 ? "" : "s"}`;
      throw calcError(
        "TOOLS_CALC_ARITY",
        `${token.value}() takes ${wanted}, got ${args.length} (at position ${token.pos + 1})`,
      );
    }
    return fn.apply(args);
  }
}

/**
 * Evaluates an expression.
 *
 * @throws {Error} with `code` `TOOLS_CALC_SYNTAX` (with the position),
 *   `TOOLS_CALC_UNKNOWN_NAME`, `TOOLS_CALC_ARITY`, `TOOLS_CALC_TOO_DEEP`, or
 *   `TOOLS_CALC_NOT_FINITE` when the result is infinite or NaN.
 */
export function evaluate(expression: string): number {
  const tokens = tokenize(expression);
  if (tokens.length === 1) throw calcError("TOOLS_CALC_SYNTAX", "The expression is empty");
  const result = new Parser(tokens).parse();
  if (!Number.isFinite(result)) {
    throw calcError(
      "TOOLS_CALC_NOT_FINITE",
      Number.isNaN(result)
        ? "The result is not a number (NaN): e.g. 0/0, a remainder by 0, or sqrt or log of a negative number"
        : `The result is ${result} (a division by zero, or beyond ±1.8e308)`,
    );
  }
  // -0 would print as 0 anyway; normalise it so equality checks are plain.
  return result === 0 ? 0 : result;
}

/** Evaluates `args.expression`. */
export function run(
  args: { expression: string },
  _ctx: WorkerContext,
): Promise<{ expression: string; result: number }> {
  return Promise.resolve({ expression: args.expression, result: evaluate(args.expression) });
}
