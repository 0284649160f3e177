import assert from "node:assert/strict";
import { invokeTool, makeTestDir, toolsConfig } from "@synth/testing";
import { jsonParseTool } from "./mod.ts";
import { MAX_DEPTH, parsePath, selectJson, validateJson } from "./worker.ts";

const config = toolsConfig();

/** The selected value and type, as the host would return them. */
function pick(text: string, path: string, maxOutputChars = 50_000) {
  const selected = selectJson(text, path, maxOutputChars);
  return { ...selected, value: JSON.parse(selected.json) };
}

function throwsCode(fn: () => unknown, code: string, fragment: string | RegExp): void {
  assert.throws(fn, (error: Error & { code?: string }) => {
    assert.equal(error.code, code, error.message);
    if (typeof fragment === "string") assert.ok(error.message.includes(fragment), error.message);
    else assert.match(error.message, fragment);
    return true;
  });
}

const DOC = JSON.stringify({
  a: { b: [10, { c: "deep" }], "key.with.dots": { x: true } },
  "it's": 1,
  'quo"te': 2,
  list: [{ name: "first" }, { name: "second" }],
  nothing: null,
  "": "empty key",
  "0": "zero key",
});

Deno.test("paths select keys, indexes, quoted keys and the root, with JSON type names", () => {
  const cases: Array<[string, unknown, string]> = [
    ["", JSON.parse(DOC), "object"],
    ["$", JSON.parse(DOC), "object"],
    ["a.b", [10, { c: "deep" }], "array"],
    ["a.b[0]", 10, "number"],
    ["$.a.b[1].c", "deep", "string"],
    ["a[\"key.with.dots\"]['x']", true, "boolean"],
    ['$["a"]["b"][1]["c"]', "deep", "string"],
    ["['it\\'s']", 1, "number"],
    ['["quo\\"te"]', 2, "number"],
    ["list.1.name", "second", "string"],
    ["list[ 0 ].name", "first", "string"],
    ["nothing", null, "null"],
    ['[""]', "empty key", "string"],
    ["[0]", "zero key", "string"],
    ["  a.b[0]  ", 10, "number"],
    ['["\\u0061"].b[0]', 10, "number"],
  ];
  for (const [path, value, type] of cases) {
    const selected = pick(DOC, path);
    assert.deepEqual(selected.value, value, path);
    assert.equal(selected.type, type, path);
    assert.equal(selected.truncated, false);
  }
  assert.equal(pick(DOC, "$.a.b[1].c").path, "a.b[1].c", "the path comes back canonical");
  assert.equal(pick(DOC, "a['key.with.dots'].x").path, 'a["key.with.dots"].x');
  assert.deepEqual(pick("[1,[2,[3]]]", "[1][1][0]").value, 3);
  assert.deepEqual(pick('"just a string"', "").value, "just a string");
});

Deno.test("__proto__ and constructor are looked up as own keys only, never reaching a prototype", () => {
  const text = '{"__proto__": {"polluted": 1}, "plain": {}, "constructor": "own"}';
  assert.deepEqual(pick(text, "__proto__").value, { polluted: 1 });
  assert.deepEqual(pick(text, "__proto__.polluted").value, 1);
  assert.equal(pick(text, "constructor").value, "own");
  throwsCode(
    () => pick(text, "plain.constructor"),
    "TOOLS_JSON_PATH_NOT_FOUND",
    'Step "constructor"',
  );
  throwsCode(() => pick(text, "plain.__proto__"), "TOOLS_JSON_PATH_NOT_FOUND", '"__proto__"');
  throwsCode(() => pick(text, "plain.toString"), "TOOLS_JSON_PATH_NOT_FOUND", '"toString"');
  throwsCode(() => pick("[1]", "length"), "TOOLS_JSON_CANNOT_TRAVERSE", '"length"');
  throwsCode(() => pick('"abc"', "length"), "TOOLS_JSON_CANNOT_TRAVERSE", "string");
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("a missing step is named; primitives cannot be traversed", () => {
  throwsCode(
    () => pick(DOC, "a.missing.more"),
    "TOOLS_JSON_PATH_NOT_FOUND",
    'Step "missing" not found: the object at a has the keys "b", "key.with.dots"',
  );
  throwsCode(
    () => pick(DOC, "a.b[5]"),
    "TOOLS_JSON_PATH_NOT_FOUND",
    "Step [5] not found: the array at a.b has 2 items",
  );
  throwsCode(() => pick("{}", "x"), "TOOLS_JSON_PATH_NOT_FOUND", "the object at $ has no keys");
  throwsCode(
    () => pick(DOC, "a.b[0].c"),
    "TOOLS_JSON_CANNOT_TRAVERSE",
    'Cannot apply step "c" to the number at a.b[0]',
  );
  throwsCode(() => pick(DOC, "nothing[0]"), "TOOLS_JSON_CANNOT_TRAVERSE", "the null at nothing");
  throwsCode(() => pick(DOC, "list.first"), "TOOLS_JSON_CANNOT_TRAVERSE", "use an index");
});

Deno.test("bad paths are refused with TOOLS_JSON_PATH_SYNTAX and the position", () => {
  const cases: Array<[string, string]> = [
    ["a..b", "position 3"],
    ["a.", "position 3"],
    ["a[", "position 3"],
    ["a[-1]", "position 3"],
    ["a[x]", "position 3"],
    ["a[0", "position 4"],
    ["a['x", "position 3: unterminated quoted key"],
    ['a["\\q"]', "bad escape"],
    ["$a", "position 2"],
    ["a b", "position 2"],
    ["a]", "position 2"],
    ["[99999999999999999999]", "too large"],
  ];
  for (const [path, fragment] of cases) {
    throwsCode(() => parsePath(path), "TOOLS_JSON_PATH_SYNTAX", fragment);
  }
});

Deno.test("invalid JSON is reported with line and column", () => {
  const cases: Array<[string, string]> = [
    ["", "line 1, column 1: expected a value, found the end of the input"],
    ['{\n  "a": 1,\n}', 'line 3, column 1: expected a double-quoted property name, found "}"'],
    ["[1, 2", 'line 1, column 6: expected "," or "]"'],
    ['{"a" 1}', 'line 1, column 6: expected ":"'],
    ['"abc', "unterminated string"],
    ['{"a":1} x', "line 1, column 9: unexpected text after the JSON value"],
    ["nul", "line 1, column 1: expected a value"],
    ["[1,]", 'line 1, column 4: expected a value, found "]"'],
    ["{'a': 1}", "expected a double-quoted property name"],
    ["[01]", "malformed number"],
    ["[1.]", "malformed number"],
    ["[-]", "expected a number"],
    ['["\\q"]', "line 1, column 4: bad escape"],
    ['["\\u12"]', "four hex digits"],
    ['["a\tb"]', "control character"],
    ["[NaN]", "expected a value"],
    ["\n\n   [true, flase]", "line 3, column 11"],
  ];
  for (const [text, fragment] of cases) {
    throwsCode(() => validateJson(text), "TOOLS_JSON_INVALID", fragment);
  }
  for (const text of ['{"a":[1,2.5e-3,-1,true,false,null,"\\u00e9\\n"],"b":{}}', " [ ] ", "0"]) {
    validateJson(text);
    assert.deepEqual(pick(text, "").value, JSON.parse(text));
  }
});

Deno.test("nesting deeper than 256 levels is refused", () => {
  const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
  validateJson(deep(MAX_DEPTH));
  throwsCode(() => validateJson(deep(MAX_DEPTH + 1)), "TOOLS_JSON_TOO_DEEP", "256");
  throwsCode(() => validateJson(deep(100_000)), "TOOLS_JSON_TOO_DEEP", "256");
  throwsCode(
    () => validateJson('{"a":'.repeat(300) + "1" + "}".repeat(300)),
    "TOOLS_JSON_TOO_DEEP",
    "256",
  );
});

Deno.test("a selected value longer than maxOutputChars comes back as a cut string preview", () => {
  const big = JSON.stringify({ items: Array.from({ length: 500 }, (_, i) => ({ id: i, q: '"' })) });
  const selected = pick(big, "items", 1_000);
  assert.equal(selected.truncated, true);
  assert.equal(selected.type, "array");
  assert.equal(typeof selected.value, "string");
  assert.ok(big.includes(selected.value), "the preview is the start of the value's JSON");
  assert.ok(selected.value.startsWith('[{"id":0,"q":"\\""}'));
  assert.ok(selected.json.length <= 1_000 - 100, `preview JSON of ${selected.json.length} chars`);
  assert.equal(selected.totalChars, JSON.stringify(JSON.parse(big).items).length);
  assert.equal(pick(big, "items[3]", 1_000).truncated, false);
});

Deno.test("json_parse selects a[0] through the sandbox, from text or from a value", async () => {
  const emptyDir = await makeTestDir("synth-json-");
  try {
    const options = { config, workspace: null, emptyDir };
    assert.deepEqual(
      await invokeTool(jsonParseTool.tool, { data: '{"a":[1]}', path: "a[0]" }, options),
      {
        ok: true,
        data: { path: "a[0]", value: 1, type: "number", truncated: false },
        truncated: false,
      },
    );
    // Keys the frame channel refuses travel inside JSON text, both ways.
    const proto = await invokeTool(
      jsonParseTool.tool,
      { data: { constructor: { prototype: 1 }, list: [true] }, path: "" },
      options,
    );
    assert.equal(proto.ok, true, JSON.stringify(proto));
    const value = proto.ok ? (proto.data as { value: Record<string, unknown> }).value : {};
    assert.deepEqual(Object.getOwnPropertyDescriptor(value, "constructor")?.value, {
      prototype: 1,
    });
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    const invalid = await invokeTool(jsonParseTool.tool, { data: '{\n"a":}' }, options);
    assert.deepEqual(invalid, {
      ok: false,
      error: {
        code: "TOOLS_JSON_INVALID",
        message: 'Invalid JSON at line 2, column 5: expected a value, found "}"',
      },
    });
    const missing = await invokeTool(jsonParseTool.tool, { data: "[]", path: "[0]" }, options);
    assert.equal(!missing.ok && missing.error.code, "TOOLS_JSON_PATH_NOT_FOUND");
  } finally {
    await Deno.remove(emptyDir, { recursive: true });
  }
});

Deno.test("json_parse cuts a large selection to its maxOutputChars through the sandbox", async () => {
  const emptyDir = await makeTestDir("synth-json-");
  try {
    const options = { config, workspace: null, emptyDir };
    const data = { text: "x".repeat(200_000) };
    const result = await invokeTool(jsonParseTool.tool, { data, path: "text" }, options);
    assert.equal(result.ok && result.truncated, true);
    const out = result.ok ? result.data as Record<string, unknown> : {};
    assert.equal(out.type, "string");
    assert.equal(out.totalChars, 200_002);
    assert.ok(JSON.stringify(out).length <= jsonParseTool.tool.limits.maxOutputChars);
  } finally {
    await Deno.remove(emptyDir, { recursive: true });
  }
});

Deno.test("json_parse arguments are validated: text over 1,000,000 characters is refused", async () => {
  const options = { config, workspace: null, emptyDir: "/nonexistent" };
  for (
    const data of [
      "x".repeat(1_000_001),
      { big: "x".repeat(1_000_000) },
      undefined,
    ]
  ) {
    const result = await invokeTool(jsonParseTool.tool, { data }, options);
    assert.equal(!result.ok && result.error.code, "TOOLS_ARGS_INVALID");
  }
});
