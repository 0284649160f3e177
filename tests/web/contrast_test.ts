import { contrastRatio } from "../../web/lib/contrast.ts";
import { DARK, LIGHT, PAIRS } from "../../web/theme/tokens.ts";

function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

Deno.test("contrast: black on white is 21:1, equal colours 1:1", () => {
  assert(Math.abs(contrastRatio("#000000", "#ffffff") - 21) < 1e-9, "21:1");
  assert(contrastRatio("#777777", "#777777") === 1, "1:1");
});

Deno.test("every token pair in use passes its WCAG minimum in both schemes", () => {
  const failures: string[] = [];
  for (const [scheme, palette] of [["light", LIGHT], ["dark", DARK]] as const) {
    for (const pair of PAIRS) {
      const ratio = contrastRatio(palette[pair.fg], palette[pair.bg]);
      if (ratio < pair.min) {
        failures.push(
          `${scheme} ${pair.fg} on ${pair.bg} (${pair.use}): ${ratio.toFixed(2)} < ${pair.min}`,
        );
      }
    }
  }
  assert(failures.length === 0, failures.join("\n"));
});
