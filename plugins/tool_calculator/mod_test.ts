import assert from "node:assert/strict";
import { invokeTool, makeTestDir, SandboxPool, toolsConfig } from "@synth/testing";
import { calculatorTool } from "./mod.ts";
import { evaluate, MAX_DEPTH } from "./worker.ts";

const config = toolsConfig();

/** Expression → expected value (compared with a relative tolerance of 1e-12). */
const VALUES: Array<[string, number]> = [
  // numbers
  ["42", 42],
  ["1.5", 1.5],
  [".5", 0.5],
  ["2.", 2],
  ["1e3", 1000],
  ["1E3", 1000],
  ["2.5e-3", 0.0025],
  ["1e+2", 100],
  ["  7\t\n", 7],
  // precedence
  ["2 + 2 * 3", 8],
  ["(2 + 2) * 3", 12],
  ["10 - 4 / 2", 8],
  ["2 * 3 ** 2", 18],
  ["7 % 4 * 2", 6],
  ["1 + 7 % 4", 4],
  // associativity
  ["10 - 4 - 3", 3],
  ["100 / 10 / 5", 2],
  ["2 ** 3 ** 2", 512],
  ["(2 ** 3) ** 2", 64],
  ["2 ** 2 ** 2 ** 2", 65536],
  // unary signs
  ["-3", -3],
  ["+3", 3],
  ["--3", 3],
  ["-+-3", 3],
  ["2 - -3", 5],
  ["2 * -3", -6],
  ["-2 ** 2", -4],
  ["(-2) ** 2", 4],
  ["2 ** -1", 0.5],
  ["2 ** -1 ** 2", 0.5],
  ["-(1 + 2)", -3],
  // remainder keeps the dividend's sign
  ["-7 % 3", -1],
  ["7.5 % 2", 1.5],
  // constants, case-insensitive names
  ["pi", Math.PI],
  ["e", Math.E],
  ["2 * PI", 2 * Math.PI],
  ["Sqrt(16)", 4],
  // functions
  ["abs(-2.5)", 2.5],
  ["round(2.5)", 3],
  ["round(-2.5)", -2],
  ["floor(-1.5)", -2],
  ["ceil(1.2)", 2],
  ["min(3, 1, 2)", 1],
  ["max(3, 1, 2)", 3],
  ["min(5)", 5],
  ["sum(1, 2, 3, 4)", 10],
  ["pow(2, 10)", 1024],
  ["sqrt(2) ** 2", 2],
  ["cbrt(-27)", -3],
  ["exp(1)", Math.E],
  ["log(e ** 3)", 3],
  ["log10(1000)", 3],
  ["log2(1024)", 10],
  ["sin(pi / 2)", 1],
  ["cos(0)", 1],
  ["tan(pi / 4)", 1],
  ["asin(1)", Math.PI / 2],
  ["acos(1)", 0],
  ["atan(1) * 4", Math.PI],
  ["atan2(1, 1)", Math.PI / 4],
  ["hypot(3, 4)", 5],
  ["max(1, min(4, 2 + 1), sum(1, 1))", 3],
  ["sqrt((3 + 1) * (2 + 2))", 4],
  ["1 / (1 / 0)", 0],
  ["0 * -1", 0],
];

Deno.test("the calculator evaluates precedence, associativity, unary signs, constants and functions", () => {
  for (const [expression, expected] of VALUES) {
    const actual = evaluate(expression);
    const tolerance = 1e-12 * Math.max(1, Math.abs(expected));
    assert.ok(
      Math.abs(actual - expected) <= tolerance,
      `${expression} = ${actual}, expected ${expected}`,
    );
  }
  assert.ok(Object.is(evaluate("0 * -1"), 0), "-0 is reported as 0");
});

/** Expression → [code, a fragment of the message]. */
const ERRORS: Array<[string, string, string]> = [
  ["2 ^ 3", "TOOLS_CALC_SYNTAX", "use ** for powers"],
  [
    "2 +",
    "TOOLS_CALC_SYNTAX",
    'Unexpected end of input (expected a number, a name or "(") at position 4',
  ],
  ["(1 + 2", "TOOLS_CALC_SYNTAX", 'expected ")") at position 7'],
  ["1 + 2)", "TOOLS_CALC_SYNTAX", 'Unexpected ")" (expected an operator) at position 6'],
  ["* 2", "TOOLS_CALC_SYNTAX", 'Unexpected "*"'],
  ["2 * * 3", "TOOLS_CALC_SYNTAX", "at position 5"],
  ["1,000", "TOOLS_CALC_SYNTAX", 'Unexpected ","'],
  ["1e", "TOOLS_CALC_SYNTAX", "an exponent needs digits"],
  ["1.2.3", "TOOLS_CALC_SYNTAX", 'Invalid number "1.2."'],
  ["2pi", "TOOLS_CALC_SYNTAX", "Missing an operator"],
  ["(1)(2)", "TOOLS_CALC_SYNTAX", "position 4"],
  ["2 $ 3", "TOOLS_CALC_SYNTAX", 'Unexpected character "$" at position 3'],
  ["", "TOOLS_CALC_SYNTAX", "empty"],
  ["   ", "TOOLS_CALC_SYNTAX", "empty"],
  ["()", "TOOLS_CALC_SYNTAX", 'Unexpected ")"'],
  ["sqrt", "TOOLS_CALC_SYNTAX", "is a function"],
  ["pi(2)", "TOOLS_CALC_SYNTAX", "is a constant"],
  ["min(1,)", "TOOLS_CALC_SYNTAX", 'Unexpected ")"'],
  ["foo(1)", "TOOLS_CALC_UNKNOWN_NAME", 'Unknown name "foo" at position 1'],
  ["x + 1", "TOOLS_CALC_UNKNOWN_NAME", "known constants: pi, e"],
  ["constructor", "TOOLS_CALC_UNKNOWN_NAME", "constructor"],
  ["__proto__", "TOOLS_CALC_UNKNOWN_NAME", "__proto__"],
  ["sqrt(1, 2)", "TOOLS_CALC_ARITY", "sqrt() takes 1 argument, got 2"],
  ["atan2(1)", "TOOLS_CALC_ARITY", "atan2() takes 2 arguments, got 1"],
  ["pow()", "TOOLS_CALC_ARITY", "got 0"],
  ["max()", "TOOLS_CALC_ARITY", "at least 1 argument"],
  ["9 ** 9 ** 9", "TOOLS_CALC_NOT_FINITE", "Infinity"],
  ["1 / 0", "TOOLS_CALC_NOT_FINITE", "Infinity"],
  ["-1 / 0", "TOOLS_CALC_NOT_FINITE", "-Infinity"],
  ["0 / 0", "TOOLS_CALC_NOT_FINITE", "NaN"],
  ["5 % 0", "TOOLS_CALC_NOT_FINITE", "NaN"],
  ["sqrt(-1)", "TOOLS_CALC_NOT_FINITE", "NaN"],
  ["log(0)", "TOOLS_CALC_NOT_FINITE", "Infinity"],
  ["1e400", "TOOLS_CALC_NOT_FINITE", "Infinity"],
  [`${"(".repeat(MAX_DEPTH + 1)}1${")".repeat(MAX_DEPTH + 1)}`, "TOOLS_CALC_TOO_DEEP", "64"],
  [`${"-".repeat(MAX_DEPTH + 1)}1`, "TOOLS_CALC_TOO_DEEP", "64"],
  [`${"abs(".repeat(MAX_DEPTH + 1)}1${")".repeat(MAX_DEPTH + 1)}`, "TOOLS_CALC_TOO_DEEP", "64"],
  [Array(MAX_DEPTH + 2).fill("1").join(" ** "), "TOOLS_CALC_TOO_DEEP", "64"],
];

Deno.test("the calculator refuses bad input with coded errors that name the position", () => {
  for (const [expression, code, fragment] of ERRORS) {
    assert.throws(
      () => evaluate(expression),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, code, `${expression}: ${error.message}`);
        assert.ok(
          error.message.includes(fragment),
          `${expression}: "${error.message}" lacks "${fragment}"`,
        );
        return true;
      },
    );
  }
});

Deno.test("nesting up to the depth limit is allowed", () => {
  const depth = MAX_DEPTH;
  assert.equal(evaluate(`${"(".repeat(depth)}1${")".repeat(depth)}`), 1);
  assert.equal(evaluate(`${"-".repeat(depth)}1`), 1);
  assert.equal(evaluate(Array(depth + 1).fill("1").join(" ** ")), 1);
  // Flat chains are not nesting: a long sum of 1,000 characters is fine.
  assert.equal(evaluate(Array(250).fill("1").join(" + ")), 250);
});

Deno.test("calculator answers 2 + 2 * 3 = 8 through the sandbox, and its errors arrive coded", async () => {
  const emptyDir = await makeTestDir("synth-calc-");
  try {
    const options = { config, workspace: null, emptyDir };
    assert.deepEqual(await invokeTool(calculatorTool.tool, { expression: "2 + 2 * 3" }, options), {
      ok: true,
      data: { expression: "2 + 2 * 3", result: 8 },
      truncated: false,
    });
    const hung = await invokeTool(calculatorTool.tool, { expression: "9**9**9" }, options);
    assert.equal(hung.ok, false);
    assert.equal(!hung.ok && hung.error.code, "TOOLS_CALC_NOT_FINITE");
    const caret = await invokeTool(calculatorTool.tool, { expression: "2^8" }, options);
    assert.equal(!caret.ok && caret.error.code, "TOOLS_CALC_SYNTAX");
    assert.match(!caret.ok ? caret.error.message : "", /use \*\*/);
  } finally {
    await Deno.remove(emptyDir, { recursive: true });
  }
});

Deno.test("calculator arguments are validated before anything runs", async () => {
  const emptyDir = await makeTestDir("synth-calc-");
  try {
    const options = { config, workspace: null, emptyDir };
    for (const args of [{}, { expression: "x".repeat(1_001) }, { expression: "1", extra: 1 }]) {
      const result = await invokeTool(calculatorTool.tool, args, options);
      assert.equal(!result.ok && result.error.code, "TOOLS_ARGS_INVALID", JSON.stringify(args));
    }
  } finally {
    await Deno.remove(emptyDir, { recursive: true });
  }
});

Deno.test("calculator runs in the warm pool, a fresh Worker per call", async () => {
  const emptyDir = await makeTestDir("synth-calc-");
  const pool = new SandboxPool({
    size: 1,
    maxCallsPerProcess: 100,
    idleMs: 60_000,
    limits: {
      memoryBytes: config.sandbox.memoryLimitBytes,
      heapMiB: config.sandbox.heapMiB,
    },
    runtime: { cwd: emptyDir, prlimitPath: config.sandbox.prlimitPath },
  });
  try {
    const options = { config, workspace: null, emptyDir, pool };
    const results = [];
    for (const expression of ["1 + 1", "sqrt(81)", "1 / 0", "2 ** 10"]) {
      results.push(await invokeTool(calculatorTool.tool, { expression }, options));
    }
    assert.deepEqual(results.map((result) => result.ok ? result.data : result.error.code), [
      { expression: "1 + 1", result: 2 },
      { expression: "sqrt(81)", result: 9 },
      "TOOLS_CALC_NOT_FINITE",
      { expression: "2 ** 10", result: 1024 },
    ]);
    assert.equal(pool.size, 1, "one warm process served every call");
  } finally {
    await pool.close();
    await Deno.remove(emptyDir, { recursive: true });
  }
});
