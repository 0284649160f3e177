/// <reference lib="deno.ns" />
/**
 * `deno task build:web` (spec/dashboard.md §1): bundles `web/main.ts` for
 * the browser (minified, with a linked source map), renders `theme.css`
 * from the tokens, names each asset `<name>.<10 hex of SHA-256>.<ext>`,
 * renders `index.html` with those names and writes `dist/manifest.json`.
 * Fails when the main bundle exceeds 300 KB.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { themeCss } from "./theme/tokens.ts";

/** What the server reads to serve the dashboard. */
export interface WebManifest {
  builtAt: string;
  /** Logical name → hashed file name under `assets/`. */
  assets: Record<string, string>;
  /** Hashed file name → size in bytes. */
  sizes: Record<string, number>;
}

/** The largest main bundle accepted. */
export const MAX_BUNDLE_BYTES = 300 * 1024;

const WEB_DIR = dirname(fileURLToPath(import.meta.url));

async function hash10(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].slice(0, 5).map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** Builds the dashboard into `outDir` (default `web/dist`). */
export async function buildWeb(
  options: { outDir?: string; denoPath?: string } = {},
): Promise<WebManifest> {
  const outDir = options.outDir ?? join(WEB_DIR, "dist");
  const staging = join(outDir, ".staging");
  await Deno.mkdir(staging, { recursive: true });
  const bundled = join(staging, "main.js");
  const result = await new Deno.Command(options.denoPath ?? Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--minify",
      "--sourcemap=linked",
      "-o",
      bundled,
      join(WEB_DIR, "main.ts"),
    ],
    cwd: dirname(WEB_DIR),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!result.success) {
    throw new Error(`bundling the dashboard failed:\n${new TextDecoder().decode(result.stderr)}`);
  }
  const code = await Deno.readFile(bundled);
  if (code.length > MAX_BUNDLE_BYTES) {
    throw new Error(
      `the dashboard bundle is ${code.length} bytes, over the ${MAX_BUNDLE_BYTES}-byte budget`,
    );
  }
  const map = await Deno.readFile(`${bundled}.map`).catch(() => null);
  const css = new TextEncoder().encode(themeCss());
  const appName = `app.${await hash10(code)}.js`;
  const themeName = `theme.${await hash10(css)}.css`;
  const assetsDir = join(outDir, "assets");
  await Deno.remove(assetsDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(assetsDir, { recursive: true });
  let text = new TextDecoder().decode(code).replace(
    /\/\/# sourceMappingURL=\S+\s*$/,
    map ? `//# sourceMappingURL=${appName}.map\n` : "",
  );
  if (!text.endsWith("\n")) text += "\n";
  const app = new TextEncoder().encode(text);
  await Deno.writeFile(join(assetsDir, appName), app);
  if (map) await Deno.writeFile(join(assetsDir, `${appName}.map`), map);
  await Deno.writeFile(join(assetsDir, themeName), css);
  const template = await Deno.readTextFile(join(WEB_DIR, "index.html"));
  const html = template.replace("{{app}}", appName).replace("{{theme}}", themeName);
  await Deno.writeTextFile(join(outDir, "index.html"), html);
  const manifest: WebManifest = {
    builtAt: new Date().toISOString(),
    assets: {
      "app.js": appName,
      "theme.css": themeName,
      ...(map ? { "app.js.map": `${appName}.map` } : {}),
    },
    sizes: {
      [appName]: app.length,
      [themeName]: css.length,
      ...(map ? { [`${appName}.map`]: map.length } : {}),
    },
  };
  await Deno.writeTextFile(join(outDir, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
  await Deno.remove(staging, { recursive: true }).catch(() => {});
  return manifest;
}

if (import.meta.main) {
  const manifest = await buildWeb();
  for (const [name, size] of Object.entries(manifest.sizes)) {
    // deno-lint-ignore no-console
    console.log(`web/dist/assets/${name}  ${(size / 1024).toFixed(1)} KB`);
  }
}
