/**
 * Project-wide rules of spec/ops.md §1, §2 and §14 (§15 items 2 and 17):
 * every task exists with a description, none passes -A, server-side tasks
 * run under -P=server, no jsr:/https: imports, the lock is frozen;
 * CHANGELOG.md follows Keep a Changelog; one version everywhere.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { REPO_DIR, spawnServer } from "@synth/testing";
import denoJson from "../../deno.json" with { type: "json" };
import webJson from "../../web/deno.json" with { type: "json" };
import { runMain } from "./_cli.ts";

const TASKS = [
  "start",
  "dev",
  "chat",
  "test",
  "bench",
  "check",
  "ok",
  "migrate",
  "reembed",
  "cert",
  "backup",
  "restore",
  "compile",
  "build:web",
  "build:wasm",
  "docs:config",
  "fake-llm",
  "plugins:prepare",
];
const SERVER_TASKS = ["start", "dev", "migrate", "reembed", "backup", "restore", "plugins:prepare"];

Deno.test("every task of the spec exists with a description, none passes -A, server tasks use -P=server", () => {
  const tasks = denoJson.tasks as Record<string, { description?: string; command: string }>;
  for (const name of TASKS) {
    assert.ok(tasks[name], `task ${name}`);
    assert.ok((tasks[name].description ?? "").length > 10, `task ${name} has a description`);
  }
  for (const [name, task] of Object.entries(tasks)) {
    assert.doesNotMatch(task.command, /(^|\s)(-A|--allow-all)(\s|$)/, `task ${name}`);
  }
  for (const name of SERVER_TASKS) {
    assert.match(tasks[name]!.command, /^deno run -P=server /, `task ${name}`);
  }
  assert.equal(denoJson.lock.frozen, true);
});

Deno.test("no jsr: or https: import in the import maps or in any source file", async () => {
  for (
    const [file, imports] of [["deno.json", denoJson.imports], [
      "web/deno.json",
      webJson.imports,
    ]] as const
  ) {
    for (const [name, target] of Object.entries(imports as Record<string, string>)) {
      assert.match(target, /^(npm:|node:|\.\/|\.\.\/)/, `${file}: ${name} → ${target}`);
    }
  }
  const offenders: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(join(REPO_DIR, dir))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) {
        if (!["node_modules", "dist", "fixtures", "artifacts"].includes(entry.name)) {
          await walk(path);
        }
      } else if (/\.(ts|js|mjs)$/.test(entry.name)) {
        const text = await Deno.readTextFile(join(REPO_DIR, path));
        // Static imports only: some tests hold `import("https://…")` as sandboxed attack code.
        if (
          /^\s*(import|export)\b[^;]*?\bfrom\s*["'](jsr:|https?:)|^\s*import\s*["'](jsr:|https?:)/m
            .test(text)
        ) offenders.push(path);
      }
    }
  };
  for (const dir of ["src", "plugins", "web", "tests", "scripts", "bench", "examples"]) {
    await walk(dir);
  }
  assert.deepEqual(offenders, []);
});

Deno.test("CHANGELOG.md follows Keep a Changelog: Unreleased first, versions descending, known sections", async () => {
  const text = await Deno.readTextFile(join(REPO_DIR, "CHANGELOG.md"));
  const headings = [...text.matchAll(/^## (.*)$/gm)].map((match) => match[1]!);
  assert.equal(headings[0], "[Unreleased]");
  const versions = headings.slice(1).map((heading) => {
    const match = /^\[(\d+)\.(\d+)\.(\d+)\] - \d{4}-\d{2}-\d{2}$/.exec(heading);
    assert.ok(match, `release heading "${heading}"`);
    return [Number(match[1]), Number(match[2]), Number(match[3])];
  });
  for (let i = 1; i < versions.length; i++) {
    const [a, b] = [versions[i - 1]!, versions[i]!];
    assert.ok(
      a[0]! > b[0]! || (a[0] === b[0] && (a[1]! > b[1]! || (a[1] === b[1] && a[2]! > b[2]!))),
      "versions are newest first",
    );
  }
  const sections = new Set(["Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"]);
  for (const match of text.matchAll(/^### (.*)$/gm)) {
    assert.ok(sections.has(match[1]!), `section "${match[1]}"`);
  }
});

Deno.test("deno.json's version is the one /health, synth_info, /openapi.json and --version report", async () => {
  const version = denoJson.version;
  await using server = await spawnServer();
  const health = await (await fetch(`${server.url}/health`)).json();
  assert.equal(health.version, version);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(
    metrics,
    new RegExp(`synth_info\\{version="${version.replaceAll(".", "\\.")}",deno="[^"]+"\\} 1`),
  );
  const openapi = await (await fetch(`${server.url}/openapi.json`)).json();
  assert.equal(openapi.info.version, version);
  const cli = await runMain(["--version"], {});
  assert.equal(cli.stdout, `synth-mind ${version} (deno ${Deno.version.deno})\n`);
});
