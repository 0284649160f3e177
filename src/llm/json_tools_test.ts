import assert from "node:assert/strict";
import {
  firstJsonObject,
  looksLikeJsonStart,
  parseJsonToolCalls,
  parseLenient,
} from "./json_tools.ts";

const offered = new Set(["calculator", "weather"]);
const ids = () => {
  let n = 0;
  return () => `call_${++n}`;
};

Deno.test("JSON tool replies in every accepted shape become calls", () => {
  const shapes: Array<[string, Record<string, unknown>]> = [
    ['{"tool_calls":[{"name":"weather","arguments":{"city":"Oslo"}}]}', { city: "Oslo" }],
    ['Sure!\n```json\n{"name": "weather", "arguments": {"city": "Oslo"}}\n```\nDone.', {
      city: "Oslo",
    }],
    ['{"tool": "weather", "args": {"city": "Oslo"}}', { city: "Oslo" }],
    ['{"function": {"name": "weather", "arguments": "{\\"city\\": \\"Oslo\\"}"}}', {
      city: "Oslo",
    }],
    ["{'name': 'weather', 'arguments': {'city': 'Oslo'}}", { city: "Oslo" }],
    ['{"name":"weather","arguments":{"city":"Oslo",},}', { city: "Oslo" }],
  ];
  for (const [text, args] of shapes) {
    const calls = parseJsonToolCalls(text, offered, ids());
    assert.deepEqual(calls, [{ id: "call_1", name: "weather", args }], text);
  }
});

Deno.test("an unknown tool, prose, or unparseable JSON is text (null)", () => {
  assert.equal(parseJsonToolCalls('{"name":"rm_rf","arguments":{}}', offered, ids()), null);
  assert.equal(parseJsonToolCalls("The weather is fine.", offered, ids()), null);
  assert.equal(parseJsonToolCalls('{"name": "weather", "arguments": {', offered, ids()), null);
});

Deno.test("arguments that are not an object give a parseError, not an exception", () => {
  const calls = parseJsonToolCalls('{"name":"calculator","arguments":"{oops"}', offered, ids());
  assert.equal(calls?.[0]?.name, "calculator");
  assert.deepEqual(calls?.[0]?.args, {});
  assert.match(calls?.[0]?.parseError ?? "", /not valid JSON/);
  const list = parseJsonToolCalls('{"name":"calculator","arguments":[1,2]}', offered, ids());
  assert.match(list?.[0]?.parseError ?? "", /not a JSON object/);
});

Deno.test("the first balanced object ignores braces inside strings", () => {
  assert.equal(firstJsonObject('x {"a":"}{","b":{"c":1}} y {"d":2}'), '{"a":"}{","b":{"c":1}}');
  assert.equal(firstJsonObject("no json"), null);
  assert.equal(firstJsonObject('{"open": 1'), null);
});

Deno.test("lenient parsing repairs trailing commas, and single quotes only without double quotes", () => {
  assert.deepEqual(parseLenient("{'a': [1, 2,],}"), { a: [1, 2] });
  assert.throws(() => parseLenient(`{"a": 'b'}`));
});

Deno.test("replies starting with { or a fence are buffered; prose streams", () => {
  assert.equal(looksLikeJsonStart("  \n{"), true);
  assert.equal(looksLikeJsonStart("```json"), true);
  assert.equal(looksLikeJsonStart("Hello {"), false);
});
