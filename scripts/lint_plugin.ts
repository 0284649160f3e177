/**
 * Project lint rules (run by `deno lint` through `deno.json`):
 *
 * - `synth/plugin-boundaries`: code in `plugins/<id>/` and `examples/<id>/`
 *   imports only its own folder, `@synth/kernel` (and `@synth/testing` in
 *   tests) and packages: plugins never import each other or kernel
 *   internals; they talk through `use()`, hooks and the bus.
 * - `synth/plugin-no-process-access`: plugin code never reads `Deno.env`
 *   or calls `Deno.serve`; the kernel hands it config and routes.
 * - `synth/fakes-in-tests-only`: only files under `tests/` and `bench/`
 *   import `tests/fakes/` (the fake LLM server): no code path outside
 *   them can reach an invented reply.
 *
 * @module
 */

/** The repository root (this file is in `scripts/`), with a trailing slash. */
export const REPO_ROOT: string = new URL("..", import.meta.url).pathname;

/** A plugin folder, relative to the repository root. */
const PLUGIN_DIR_REGEXP = /^(plugins|examples)\/([a-z][a-z0-9_]*)\//;

interface PluginFile {
  /** Absolute path of the plugin folder, with a trailing slash. */
  root: string;
  isTest: boolean;
}

/** The plugin folder an absolute path lies in, judged from the repository root. */
function pluginDirOf(path: string): string | undefined {
  if (!path.startsWith(REPO_ROOT)) return undefined;
  const match = PLUGIN_DIR_REGEXP.exec(path.slice(REPO_ROOT.length));
  return match ? REPO_ROOT + match[0] : undefined;
}

function pluginFileOf(filename: string): PluginFile | undefined {
  const root = pluginDirOf(filename);
  return root ? { root, isTest: filename.endsWith("_test.ts") } : undefined;
}

function isAllowedSpecifier(specifier: string, filename: string, file: PluginFile): boolean {
  if (specifier === "@synth/kernel") return true;
  if (specifier === "@synth/testing") return file.isTest;
  if (specifier.startsWith(".")) {
    const resolved = new URL(specifier, `file://${filename}`).pathname;
    // Tests may load several example or plugin folders together.
    return resolved.startsWith(file.root) ||
      (file.isTest && pluginDirOf(resolved) !== undefined);
  }
  if (specifier.startsWith("/") || specifier.startsWith("file:")) return false;
  if (specifier.startsWith("@synth/")) return false;
  return true; // packages (npm:, node:, mapped bare names)
}

/** Whether an import from `filename` reaches `tests/fakes/`. */
function reachesFakes(specifier: string, filename: string): boolean {
  if (!specifier.startsWith(".") && !specifier.startsWith("/") && !specifier.startsWith("file:")) {
    return false;
  }
  const resolved = new URL(specifier, `file://${filename}`).pathname;
  return resolved.startsWith(REPO_ROOT + "tests/fakes/");
}

const plugin: Deno.lint.Plugin = {
  name: "synth",
  rules: {
    "fakes-in-tests-only": {
      create(context) {
        const relative = context.filename.startsWith(REPO_ROOT)
          ? context.filename.slice(REPO_ROOT.length)
          : context.filename;
        if (relative.startsWith("tests/") || relative.startsWith("bench/")) return {};
        function check(node: Deno.lint.Node, specifier: unknown) {
          if (typeof specifier !== "string" || !reachesFakes(specifier, context.filename)) return;
          context.report({
            node,
            message:
              `Only tests/ and bench/ may import the fakes: "${specifier}" would let this code invent replies`,
            hint: "Move the test into tests/, or reach a real provider through the gateway",
          });
        }
        return {
          ImportDeclaration: (node) => check(node, node.source.value),
          ExportNamedDeclaration: (node) => check(node, node.source?.value),
          ExportAllDeclaration: (node) => check(node, node.source.value),
          ImportExpression: (node) =>
            check(node, node.source.type === "Literal" ? node.source.value : undefined),
        };
      },
    },
    "plugin-boundaries": {
      create(context) {
        const file = pluginFileOf(context.filename);
        if (!file) return {};
        function check(node: Deno.lint.Node, specifier: unknown) {
          if (typeof specifier !== "string") return;
          if (isAllowedSpecifier(specifier, context.filename, file!)) return;
          context.report({
            node,
            message:
              `Plugins never import another plugin or kernel internals: "${specifier}" is outside this plugin's folder`,
            hint:
              'Import the kernel from "@synth/kernel"; reach other plugins through ctx.use(), hooks and the bus',
          });
        }
        return {
          ImportDeclaration: (node) => check(node, node.source.value),
          ExportNamedDeclaration: (node) => check(node, node.source?.value),
          ExportAllDeclaration: (node) => check(node, node.source.value),
          ImportExpression: (node) =>
            check(node, node.source.type === "Literal" ? node.source.value : undefined),
        };
      },
    },
    "plugin-no-process-access": {
      create(context) {
        const file = pluginFileOf(context.filename);
        if (!file || file.isTest) return {};
        return {
          MemberExpression(node) {
            if (
              node.object.type === "Identifier" && node.object.name === "Deno" &&
              node.property.type === "Identifier" &&
              (node.property.name === "env" || node.property.name === "serve")
            ) {
              context.report({
                node,
                message: `Plugins never use Deno.${node.property.name}: the kernel provides ${
                  node.property.name === "env" ? "config" : "routes at ctx.http"
                }`,
              });
            }
          },
        };
      },
    },
  },
};

export default plugin;
