/**
 * The dashboard's text-safety rules as a source check (spec/dashboard.md
 * §1–§2, §8 item 14): no HTML sink (`innerHTML`, `outerHTML`,
 * `insertAdjacentHTML`, `document.write`, `unsafeHTML`, `unsafeSVG`) outside
 * `components/sm-markdown.ts`; no `style` attribute binding or `styleMap`
 * anywhere; no `eval` or `new Function`.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";

const WEB = join(Deno.cwd(), "web");
const SINKS =
  /\b(innerHTML|outerHTML|insertAdjacentHTML|unsafeHTML|unsafeSVG)\b|document\.write\s*\(/;
const STYLE = /\bstyleMap\b|\sstyle=\$\{|\sstyle="|\.setAttribute\(\s*["']style["']/;
const EVAL = /\beval\s*\(|\bnew\s+Function\s*\(/;

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory && entry.name !== "dist") yield* sources(path);
    else if (entry.isFile && /\.ts$/.test(entry.name)) yield path;
  }
}

Deno.test("no HTML sink outside sm-markdown.ts, no style attribute binding, no eval in web/", async () => {
  const found: string[] = [];
  let files = 0;
  for await (const path of sources(WEB)) {
    files++;
    const name = relative(WEB, path);
    const lines = (await Deno.readTextFile(path)).split("\n");
    lines.forEach((line, index) => {
      // Comments may name the rules they follow.
      const code = line.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "");
      const where = `${name}:${index + 1}: ${line.trim()}`;
      if (SINKS.test(code) && name !== join("components", "sm-markdown.ts")) {
        found.push(`sink ${where}`);
      }
      if (STYLE.test(code)) found.push(`style ${where}`);
      if (EVAL.test(code)) found.push(`eval ${where}`);
    });
  }
  assert.ok(files > 20, `read ${files} files`);
  assert.deepEqual(found, []);
});

Deno.test("the source check catches each forbidden form", () => {
  for (
    const bad of [
      "el.innerHTML = x",
      "${unsafeHTML(text)}",
      "document.write(x)",
      "x.insertAdjacentHTML('a', b)",
    ]
  ) {
    assert.ok(SINKS.test(bad), bad);
  }
  for (
    const bad of [
      "<div style=${x}>",
      "styleMap({a: 1})",
      'el.setAttribute("style", s)',
      '<p style="color: red">',
    ]
  ) {
    assert.ok(STYLE.test(bad), bad);
  }
  for (const bad of ["eval(code)", "new Function('return 1')"]) assert.ok(EVAL.test(bad), bad);
});
