/// <reference lib="deno.ns" />
/**
 * `deno task build:web` (spec/dashboard.md §1): bundles `web/main.ts` (the
 * dashboard) and `web/docs/main.ts` (the API reference at `/docs`) for the
 * browser (minified, with linked source maps), renders `theme.css` from the
 * tokens, names each asset `<name>.<10 hex of SHA-256>.<ext>`, renders
 * `index.html` and `docs.html` with those names and writes
 * `dist/manifest.json`. Fails when either bundle exceeds 300 KB.
 *
 * First it regenerates `components/uplot_css.ts`, uPlot's stylesheet read
 * from the pinned package (`gen_uplot_css.ts`; committed, rewritten only
 * when the package's text changed).
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeUplotCss } from "./gen_uplot_css.ts";
import { themeCss } from "./theme/tokens.ts";

/** What the server reads to serve the dashboard. */
export interface WebManifest {
  builtAt: string;
  /** Logical name → hashed file name under `assets/`. */
  assets: Record<string, string>;
  /** Hashed file name → size in bytes. */
  sizes: Record<string, number>;
}

/** The largest bundle accepted (each entry: the dashboard, the API reference). */
export const MAX_BUNDLE_BYTES = 300 * 1024;

const WEB_DIR = dirname(fileURLToPath(import.meta.url));

async function hash10(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].slice(0, 5).map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** One bundled entry point, named and ready to write. */
interface Bundle {
  /** `<name>.<hash>.js`. */
  file: string;
  code: Uint8Array;
  map: Uint8Array | null;
  /** Lazily loaded chunks (esbuild names them by content hash) with their maps. */
  chunks: Array<{ file: string; bytes: Uint8Array }>;
}

/** Bundles `entry` (relative to `web/`) as `<name>.<hash>.js`, within `maxBytes` up front. */
async function bundle(
  entry: string,
  name: string,
  options: { staging: string; denoPath: string; maxBytes: number },
): Promise<Bundle> {
  // Code splitting: pages imported with import() become chunks outside the main bundle.
  const outDir = join(options.staging, name);
  const bundled = join(outDir, "main.js");
  const result = await new Deno.Command(options.denoPath, {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--minify",
      "--sourcemap=linked",
      "--code-splitting",
      "--outdir",
      outDir,
      join(WEB_DIR, entry),
    ],
    cwd: dirname(WEB_DIR),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(`bundling ${entry} failed:\n${new TextDecoder().decode(result.stderr)}`);
  }
  const code = await Deno.readFile(bundled);
  const map = await Deno.readFile(`${bundled}.map`).catch(() => null);
  const file = `${name}.${await hash10(code)}.js`;
  let text = new TextDecoder().decode(code).replace(
    /\/\/# sourceMappingURL=\S+\s*$/,
    map ? `//# sourceMappingURL=${file}.map\n` : "",
  );
  if (!text.endsWith("\n")) text += "\n";
  const chunks: Bundle["chunks"] = [];
  for await (const item of Deno.readDir(outDir)) {
    // Shared chunks (`chunk-<hash>.js`) and lazily imported pages (`page-admin-<hash>.js`).
    if (
      item.isFile && item.name !== "main.js" && item.name !== "main.js.map" &&
      /\.js(\.map)?$/.test(item.name)
    ) {
      chunks.push({ file: item.name, bytes: await Deno.readFile(join(outDir, item.name)) });
    }
  }
  // The budget covers what a page load fetches: the entry and the chunks it imports statically.
  const initial = initialBytes(text, new Map(chunks.map((chunk) => [chunk.file, chunk.bytes])));
  if (initial > options.maxBytes) {
    throw new Error(
      `the ${entry} bundle loads ${initial} bytes up front, over the ${options.maxBytes}-byte budget`,
    );
  }
  return { file, code: new TextEncoder().encode(text), map, chunks };
}

/** Bytes of `code` plus every chunk it imports statically, transitively (not `import()`). */
export function initialBytes(code: string, chunks: ReadonlyMap<string, Uint8Array>): number {
  const seen = new Set<string>();
  let total = new TextEncoder().encode(code).length;
  const visit = (text: string) => {
    for (
      const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*)["']\.\/(chunk-[A-Za-z0-9]+\.js)["']/g)
    ) {
      const name = match[1]!;
      const bytes = chunks.get(name);
      if (seen.has(name) || !bytes) continue;
      seen.add(name);
      total += bytes.length;
      visit(new TextDecoder().decode(bytes));
    }
  };
  visit(code);
  return total;
}

/**
 * Builds the dashboard into `outDir` (default `web/dist`): the dashboard
 * (`app.js`, `index.html`) and the API reference (`docs.js`, `docs.html`,
 * spec/server.md §13), both with the one `theme.css`. Fails, leaving
 * `outDir` as it was, when an entry loads more than `maxBytes` up front
 * (default {@link MAX_BUNDLE_BYTES}; tests pass a small budget).
 */
export async function buildWeb(
  options: { outDir?: string; denoPath?: string; maxBytes?: number } = {},
): Promise<WebManifest> {
  const outDir = options.outDir ?? join(WEB_DIR, "dist");
  await Deno.mkdir(outDir, { recursive: true });
  // uPlot's stylesheet as a TS module, from the pinned package, before anything bundles it.
  await writeUplotCss();
  // Its own staging folder, so that test processes building at once do not share files.
  const staging = await Deno.makeTempDir({ dir: outDir, prefix: ".staging-" });
  try {
    const denoPath = options.denoPath ?? Deno.execPath();
    const maxBytes = options.maxBytes ?? MAX_BUNDLE_BYTES;
    // Both settle before anything throws: a bundler still running would refill the staging folder
    // after the `finally` below removed it.
    const [appResult, docsResult] = await Promise.allSettled([
      bundle("main.ts", "app", { staging, denoPath, maxBytes }),
      bundle(join("docs", "main.ts"), "docs", { staging, denoPath, maxBytes }),
    ]);
    if (appResult.status === "rejected") throw appResult.reason;
    if (docsResult.status === "rejected") throw docsResult.reason;
    const app = appResult.value;
    const docs = docsResult.value;
    const css = new TextEncoder().encode(themeCss());
    const themeName = `theme.${await hash10(css)}.css`;
    const assetsDir = join(outDir, "assets");
    await Deno.mkdir(assetsDir, { recursive: true });
    // Every file is written in the staging folder and renamed into place, and nothing is removed
    // before the new manifest is: a server reading `outDir` meanwhile (another test process
    // building at once, or a rebuild under a running server) never finds a named file missing or
    // half written.
    const publish = async (path: string, bytes: Uint8Array): Promise<void> => {
      const written = join(staging, `publish-${crypto.randomUUID()}`);
      await Deno.writeFile(written, bytes);
      await Deno.rename(written, path);
    };
    const assets: Record<string, string> = {};
    const sizes: Record<string, number> = {};
    const emit = async (logical: string, file: string, bytes: Uint8Array): Promise<void> => {
      await publish(join(assetsDir, file), bytes);
      assets[logical] = file;
      sizes[file] = bytes.length;
    };
    await emit("app.js", app.file, app.code);
    await emit("theme.css", themeName, css);
    if (app.map) await emit("app.js.map", `${app.file}.map`, app.map);
    for (const chunk of [...app.chunks, ...docs.chunks]) {
      await emit(chunk.file, chunk.file, chunk.bytes);
    }
    await emit("docs.js", docs.file, docs.code);
    if (docs.map) await emit("docs.js.map", `${docs.file}.map`, docs.map);
    const pages = [
      { template: "index.html", out: "index.html", script: "{{app}}", file: app.file },
      {
        template: join("docs", "index.html"),
        out: "docs.html",
        script: "{{docs}}",
        file: docs.file,
      },
    ];
    for (const page of pages) {
      const template = await Deno.readTextFile(join(WEB_DIR, page.template));
      const html = template.replace(page.script, page.file).replace("{{theme}}", themeName);
      await publish(join(outDir, page.out), new TextEncoder().encode(html));
    }
    const manifest: WebManifest = { builtAt: new Date().toISOString(), assets, sizes };
    await publish(
      join(outDir, "manifest.json"),
      new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n"),
    );
    // Assets of earlier builds go once the manifest no longer names them.
    for await (const entry of Deno.readDir(assetsDir)) {
      if (!(entry.name in sizes)) {
        await Deno.remove(join(assetsDir, entry.name), { recursive: true }).catch(() => {});
      }
    }
    return manifest;
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const manifest = await buildWeb();
  for (const [name, size] of Object.entries(manifest.sizes)) {
    // deno-lint-ignore no-console
    console.error(`web/dist/assets/${name}  ${(size / 1024).toFixed(1)} KB`);
  }
}
