import assert from "node:assert/strict";
import { ConfidenceFilter, stripConfidenceTags } from "./confidence.ts";

function run(chunks: string[]) {
  const filter = new ConfidenceFilter();
  const shown = chunks.map((chunk) => filter.push(chunk));
  shown.push(filter.end());
  return { shown, text: shown.join(""), value: filter.value };
}

Deno.test("a tag split over three chunks never shows and its value is recorded", () => {
  const result = run(["The answer is 4. <conf", "idence>0.8", "5</confidence>"]);
  assert.equal(result.text, "The answer is 4. ");
  assert.equal(result.value, 0.85);
  for (const piece of result.shown) assert.ok(!piece.includes("<"), JSON.stringify(piece));
});

Deno.test("the last complete tag wins; text around tags is kept", () => {
  const result = run(["A <confidence>0.2</confidence> B", " <confidence>0.9</confidence>"]);
  assert.equal(result.text, "A  B ");
  assert.equal(result.value, 0.9);
});

Deno.test("a missing tag leaves the value null; lookalikes are released", () => {
  const plain = run(["x < y and ", "<b>bold</b>"]);
  assert.equal(plain.text, "x < y and <b>bold</b>");
  assert.equal(plain.value, null);
  const unfinished = run(["done <confidence>0."]);
  assert.equal(unfinished.text, "done <confidence>0.", "an unfinished tag shows at the end");
  const long = run(["<confidence>" + "9".repeat(50)]);
  assert.equal(long.shown[0], "<confidence>" + "9".repeat(50), "held text over 40 chars is text");
});

Deno.test("stored text has no tag", () => {
  assert.equal(stripConfidenceTags("ok <confidence> 0.7 </confidence>"), "ok ");
});
