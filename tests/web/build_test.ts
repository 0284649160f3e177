/**
 * The dashboard build (spec/dashboard.md §1, §8 item 1): hashed asset
 * names, a manifest listing exactly the files written, documents naming the
 * hashed app and theme, lazily loaded page chunks, and the budget on what a
 * page load fetches up front (the entry and its static chunks, never the
 * `import()`-ed ones).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { buildWeb, initialBytes, MAX_BUNDLE_BYTES, type WebManifest } from "../../web/build.ts";

const encoder = new TextEncoder();
const bytes = (text: string) => encoder.encode(text);
const size = (text: string) => bytes(text).length;

/** A fresh folder under the test data directory, removed by `Symbol.asyncDispose`. */
async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const parent = join(Deno.cwd(), "data", ".test");
  await Deno.mkdir(parent, { recursive: true });
  const path = await Deno.makeTempDir({ dir: parent, prefix: "web-build-" });
  return {
    path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }).catch(() => {}),
  };
}

async function list(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** Every `.js` file of `assets/` with its bytes, for {@link initialBytes}. */
async function chunksOf(assets: string): Promise<Map<string, Uint8Array>> {
  const chunks = new Map<string, Uint8Array>();
  for (const name of await list(assets)) {
    if (name.endsWith(".js")) chunks.set(name, await Deno.readFile(join(assets, name)));
  }
  return chunks;
}

/** The budget of the tests below, from a real build: the larger entry's initial payload. */
async function initialOf(outDir: string, manifest: WebManifest): Promise<number> {
  const assets = join(outDir, "assets");
  const chunks = await chunksOf(assets);
  return Math.max(
    ...["app.js", "docs.js"].map((logical) => {
      const code = new TextDecoder().decode(chunks.get(manifest.assets[logical]!)!);
      return initialBytes(code, chunks);
    }),
  );
}

Deno.test("initialBytes counts the entry alone when it imports nothing (bytes, not characters)", () => {
  const code = 'console.log("héllo → ✓");';
  assert.equal(initialBytes(code, new Map()), size(code));
  assert.ok(size(code) > code.length);
});

Deno.test("initialBytes adds statically imported chunks transitively, each once", () => {
  const a = 'import{b as x}from"./chunk-BBBBBBBB.js";import"./chunk-CCCCCCCC.js";x();';
  const b = 'import"./chunk-DDDDDDDD.js";export const b=1;';
  const c = 'export*from"./chunk-DDDDDDDD.js";';
  const d = "export const d=2;";
  const chunks = new Map([
    ["chunk-AAAAAAAA.js", bytes(a)],
    ["chunk-BBBBBBBB.js", bytes(b)],
    ["chunk-CCCCCCCC.js", bytes(c)],
    ["chunk-DDDDDDDD.js", bytes(d)],
  ]);
  const entry = 'import{a}from"./chunk-AAAAAAAA.js";import { b } from "./chunk-BBBBBBBB.js";a(b);';
  // D is reached through B and through C; B directly and through A: both counted once.
  assert.equal(initialBytes(entry, chunks), size(entry) + size(a) + size(b) + size(c) + size(d));
});

Deno.test("initialBytes leaves out import()-ed chunks and whatever only they import", () => {
  const page = 'import{s}from"./chunk-SSSSSSSS.js";export const page=s;';
  const onlyLazy = "export const s=3;";
  const shared = "export const shared=4;";
  const chunks = new Map([
    ["page-admin-PPPPPPPP.js", bytes(page)],
    ["chunk-SSSSSSSS.js", bytes(onlyLazy)],
    ["chunk-LLLLLLLL.js", bytes("export const lazy=5;".repeat(100))],
    ["chunk-HHHHHHHH.js", bytes(shared)],
  ]);
  const entry = 'import{shared}from"./chunk-HHHHHHHH.js";' +
    'const pages={admin:()=>import("./page-admin-PPPPPPPP.js"),' +
    'other:()=>import( "./chunk-LLLLLLLL.js")};';
  assert.equal(initialBytes(entry, chunks), size(entry) + size(shared));
});

Deno.test("initialBytes survives import cycles and ignores names it has no bytes for", () => {
  const a = 'import"./chunk-BBBBBBBB.js";export const a=1;';
  const b = 'import"./chunk-AAAAAAAA.js";export const b=2;';
  const chunks = new Map([["chunk-AAAAAAAA.js", bytes(a)], ["chunk-BBBBBBBB.js", bytes(b)]]);
  const entry = 'import"./chunk-AAAAAAAA.js";import"./chunk-ZZZZZZZZ.js";';
  assert.equal(initialBytes(entry, chunks), size(entry) + size(a) + size(b));
});

Deno.test("the budget is 300 KB", () => {
  assert.equal(MAX_BUNDLE_BYTES, 300 * 1024);
});

Deno.test("buildWeb emits hashed assets, a manifest of exactly those files, documents naming them, and lazy page chunks", async () => {
  await using dir = await tempDir();
  const manifest = await buildWeb({ outDir: dir.path });
  const assets = join(dir.path, "assets");
  const files = await list(assets);

  // <name>.<10 hex>.<ext> for the entries and the theme; esbuild's content hash for the chunks.
  const app = manifest.assets["app.js"]!;
  const docs = manifest.assets["docs.js"]!;
  const theme = manifest.assets["theme.css"]!;
  assert.match(app, /^app\.[0-9a-f]{10}\.js$/);
  assert.match(docs, /^docs\.[0-9a-f]{10}\.js$/);
  assert.match(theme, /^theme\.[0-9a-f]{10}\.css$/);
  assert.equal(manifest.assets["app.js.map"], `${app}.map`);
  assert.equal(manifest.assets["docs.js.map"], `${docs}.map`);
  for (const name of files) {
    assert.match(
      name,
      /^(?:(?:app|docs)\.[0-9a-f]{10}\.js(?:\.map)?|theme\.[0-9a-f]{10}\.css|(?:chunk|page-[a-z]+)-[A-Z0-9]{8}\.js(?:\.map)?)$/,
      "every asset name carries a content hash",
    );
  }
  // The theme's hash is its content's: the first 10 hex of its SHA-256.
  const themeBytes = await Deno.readFile(join(assets, theme));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", themeBytes));
  const hex = [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(theme, `theme.${hex.slice(0, 10)}.css`);
  // Each entry points at its own map.
  for (const file of [app, docs]) {
    const text = await Deno.readTextFile(join(assets, file));
    assert.ok(text.endsWith(`//# sourceMappingURL=${file}.map\n`), file);
  }

  // manifest.json is what buildWeb returned, and lists exactly the files written, with their sizes.
  const written = JSON.parse(await Deno.readTextFile(join(dir.path, "manifest.json")));
  assert.deepEqual(written, manifest);
  assert.ok(!Number.isNaN(Date.parse(manifest.builtAt)));
  assert.deepEqual(Object.keys(manifest.sizes).sort(), files);
  assert.deepEqual(Object.values(manifest.assets).sort(), files);
  for (const name of files) {
    assert.equal(manifest.sizes[name], (await Deno.stat(join(assets, name))).size, name);
  }
  assert.deepEqual(await list(dir.path), ["assets", "docs.html", "index.html", "manifest.json"]);

  // The documents name the hashed files and keep no placeholder.
  const index = await Deno.readTextFile(join(dir.path, "index.html"));
  assert.ok(index.includes(`<script type="module" src="/assets/${app}"></script>`), index);
  assert.ok(index.includes(`<link rel="stylesheet" href="/assets/${theme}">`), index);
  const docsHtml = await Deno.readTextFile(join(dir.path, "docs.html"));
  assert.ok(docsHtml.includes(`/assets/${docs}`), docsHtml);
  assert.ok(docsHtml.includes(`/assets/${theme}`), docsHtml);
  for (const html of [index, docsHtml]) assert.doesNotMatch(html, /\{\{|\}\}/);

  // The pages sm-app imports lazily are chunks of their own, loaded with import().
  const appText = await Deno.readTextFile(join(assets, app));
  for (const page of ["mind", "memory", "admin", "projects", "project", "timeline"]) {
    const chunk = files.find((name) => new RegExp(`^page-${page}-[A-Z0-9]{8}\\.js$`).test(name));
    assert.ok(chunk, `a lazy chunk for page-${page}`);
    assert.ok(appText.includes(`import("./${chunk}")`), `app.js imports ${chunk} lazily`);
  }

  // Within the budget, counting the static chunks and not the lazy pages.
  const chunks = await chunksOf(assets);
  const appInitial = initialBytes(appText, chunks);
  assert.ok(appInitial >= manifest.sizes[app]!);
  assert.ok(appInitial <= MAX_BUNDLE_BYTES, `app loads ${appInitial} bytes up front`);
  const everything = [...chunks.values()].reduce((sum, item) => sum + item.length, 0);
  assert.ok(appInitial < everything, "the lazy pages are not in the initial payload");
  assert.ok(
    initialBytes(await Deno.readTextFile(join(assets, docs)), chunks) <= MAX_BUNDLE_BYTES,
    "docs within the budget",
  );
});

Deno.test("buildWeb fails with the budget message when an entry loads more than maxBytes up front, and keeps the last good build", async () => {
  await using dir = await tempDir();
  const manifest = await buildWeb({ outDir: dir.path });
  const budget = await initialOf(dir.path, manifest);
  const before = await Deno.readTextFile(join(dir.path, "manifest.json"));
  const files = await list(join(dir.path, "assets"));

  // One byte under what the larger entry loads up front: refused, naming both numbers.
  await assert.rejects(
    () => buildWeb({ outDir: dir.path, maxBytes: budget - 1 }),
    (error: Error) => {
      assert.match(
        error.message,
        new RegExp(
          `^the (?:main\\.ts|docs/main\\.ts) bundle loads ${budget} bytes up front, over the ${
            budget - 1
          }-byte budget$`,
        ),
      );
      return true;
    },
  );
  // A tiny budget fails both entries: the one that fails first must not leave the other behind.
  await assert.rejects(
    () => buildWeb({ outDir: dir.path, maxBytes: 1024 }),
    /bundle loads \d+ bytes up front, over the 1024-byte budget/,
  );

  // Exactly the initial payload (the lazy pages not counted) is within the budget.
  await using exact = await tempDir();
  const again = await buildWeb({ outDir: exact.path, maxBytes: budget });
  assert.equal(again.assets["app.js"], manifest.assets["app.js"], "the build is deterministic");

  // The failed builds left the last good one in place, and (even a build later) no staging folder.
  assert.equal(await Deno.readTextFile(join(dir.path, "manifest.json")), before);
  assert.deepEqual(await list(join(dir.path, "assets")), files);
  assert.deepEqual(await list(dir.path), ["assets", "docs.html", "index.html", "manifest.json"]);
  assert.deepEqual(await list(exact.path), ["assets", "docs.html", "index.html", "manifest.json"]);
});

Deno.test("a rebuild never leaves a file its manifest names missing or half written, and drops earlier builds' assets after", async () => {
  await using dir = await tempDir();
  const first = await buildWeb({ outDir: dir.path });
  const stale = join(dir.path, "assets", "app.0000000000.js");
  await Deno.writeTextFile(stale, "// an earlier build's entry");
  // What a server reading the folder meanwhile sees (another test process building at once).
  let reads = 0;
  const problems: string[] = [];
  let building = true;
  const reader = (async () => {
    while (building) {
      let manifest: WebManifest;
      try {
        manifest = JSON.parse(await Deno.readTextFile(join(dir.path, "manifest.json")));
      } catch (error) {
        problems.push(`manifest.json: ${error}`);
        continue;
      }
      for (const [file, size] of Object.entries(manifest.sizes)) {
        const found = await Deno.stat(join(dir.path, "assets", file)).catch(() => null);
        if (found?.size !== size) problems.push(`${file}: ${found ? found.size : "missing"}`);
      }
      reads++;
    }
  })();
  try {
    await buildWeb({ outDir: dir.path });
  } finally {
    building = false;
    await reader;
  }
  assert.ok(reads > 0);
  assert.deepEqual(problems, []);
  assert.deepEqual(
    await list(join(dir.path, "assets")),
    Object.keys(first.sizes).sort(),
    "the stale entry is gone, the named files stay",
  );
});
