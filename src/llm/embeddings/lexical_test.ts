import assert from "node:assert/strict";
import { createLexicalEmbedder, LEXICAL_DIMS, lexicalVector } from "./lexical.ts";

/** Non-zero components to 6 decimals; any change here needs a new model name. */
const GOLDEN: Record<string, Record<number, number>> = {
  "The user's daughter is called Mia.": {
    10: -0.090814,
    19: 0.090814,
    45: -0.363257,
    50: 0.090814,
    58: -0.090814,
    63: 0.181628,
    90: -0.090814,
    137: -0.090814,
    143: 0.090814,
    147: -0.090814,
    159: -0.090814,
    160: -0.363257,
    164: -0.363257,
    189: -0.090814,
    205: -0.363257,
    207: 0.181628,
    208: -0.090814,
    232: 0.090814,
    238: 0.090814,
    248: 0.090814,
    251: 0.090814,
    257: 0.181628,
    285: 0.244576,
    290: -0.181628,
    319: 0.090814,
    327: 0.363257,
    358: -0.090814,
    379: -0.090814,
  },
  "Deno runs TypeScript without a build step": {
    0: -0.248282,
    3: -0.331042,
    10: 0.082761,
    16: 0.082761,
    18: 0.082761,
    25: 0.082761,
    29: -0.082761,
    39: -0.331042,
    40: -0.165521,
    50: -0.082761,
    83: -0.331042,
    118: 0.082761,
    152: 0.082761,
    165: 0.082761,
    173: 0.082761,
    180: 0.082761,
    187: 0.082761,
    192: 0.082761,
    215: -0.082761,
    216: -0.082761,
    232: -0.082761,
    245: 0.413803,
    250: -0.082761,
    260: 0.082761,
    274: 0.082761,
    281: -0.082761,
    283: 0.082761,
    288: -0.082761,
    295: 0.165521,
    305: -0.165521,
    309: 0.082761,
    318: -0.165521,
    329: -0.082761,
    334: -0.082761,
    346: 0.165521,
    364: -0.331042,
    369: -0.082761,
    370: -0.082761,
    371: -0.082761,
  },
  "Café au lait, s'il vous plaît!": {
    3: 0.081923,
    14: 0.081923,
    19: 0.081923,
    67: 0.081923,
    71: 0.24577,
    79: -0.163846,
    104: -0.327693,
    110: 0.081923,
    114: 0.081923,
    130: 0.081923,
    133: -0.163846,
    142: 0.081923,
    148: 0.081923,
    199: -0.081923,
    205: -0.327693,
    211: 0.163846,
    226: -0.327693,
    228: -0.327693,
    247: -0.081923,
    255: -0.163846,
    262: 0.081923,
    270: -0.081923,
    276: 0.081923,
    300: -0.327693,
    301: -0.081923,
    302: 0.081923,
    310: -0.081923,
    315: -0.163846,
    322: 0.081923,
    329: -0.081923,
    351: 0.163846,
    364: 0.327693,
    379: -0.081923,
  },
};

Deno.test("the lexical embedder matches the golden components", () => {
  for (const [sentence, expected] of Object.entries(GOLDEN)) {
    const vector = lexicalVector(sentence);
    assert.equal(vector.length, LEXICAL_DIMS);
    const actual: Record<number, number> = {};
    vector.forEach((value, index) => {
      if (value !== 0) actual[index] = Number(value.toFixed(6));
    });
    assert.deepEqual(actual, expected, sentence);
    const first8 = Array.from(vector.slice(0, 8), (value) => Number(value.toFixed(6)));
    assert.deepEqual(first8, Array.from({ length: 8 }, (_, i) => expected[i] ?? 0));
  }
});

Deno.test("lexical vectors are unit length, and texts sharing words are closer", () => {
  const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
  const cats = lexicalVector("my cat sleeps on the sofa all day");
  const catsAgain = lexicalVector("the cat sleeps on a sofa");
  const taxes = lexicalVector("quarterly tax filing deadline");
  assert.ok(Math.abs(cosine(cats, cats) - 1) < 1e-6);
  assert.ok(cosine(cats, catsAgain) > 0.5);
  assert.ok(cosine(cats, catsAgain) > cosine(cats, taxes) + 0.3);
});

Deno.test("a text without content gives the zero vector", () => {
  for (const text of ["", "   ", "?!", "the and of"]) {
    assert.ok(lexicalVector(text).every((value) => value === 0), JSON.stringify(text));
  }
});

Deno.test("the lexical embedder says what it is", async () => {
  const embedder = createLexicalEmbedder();
  assert.equal(embedder.id, "lexical/lexical-hash-v1/384");
  assert.equal(embedder.quality, "lexical");
  const [vector] = await embedder.embed(["hello world"]);
  assert.deepEqual(vector, lexicalVector("hello world"));
});

Deno.test("a remembered text gives an equal vector that the caller may change freely", async () => {
  const embedder = createLexicalEmbedder();
  const [first] = await embedder.embed(["the blue door"]);
  first!.fill(0);
  const [second] = await embedder.embed(["the blue door"]);
  assert.deepEqual(second, lexicalVector("the blue door"));
});
